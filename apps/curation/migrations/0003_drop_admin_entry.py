"""The admin index links the dashboard under "Curator tools" (templates/admin/index.html): the
proxy model that put an entry for it among the models goes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0002_periodic_task'),
    ]

    operations = [
        migrations.DeleteModel(
            name='CuratorDashboard',
        ),
    ]
