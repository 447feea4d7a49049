from django.db import migrations, models


def duplicates_delete(apps, schema_editor):
    """Keep the first check of a URL in a run: a second one could only come from a retry."""
    LinkCheck = apps.get_model("linkhealth", "LinkCheck")
    first = (
        LinkCheck.objects.filter(run__isnull=False)
        .values("run", "url")
        .annotate(first=models.Min("pk"), n=models.Count("pk"))
        .filter(n__gt=1)
    )
    for row in first:
        LinkCheck.objects.filter(run=row["run"], url=row["url"]).exclude(pk=row["first"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("linkhealth", "0004_digest_day"),
    ]

    operations = [
        migrations.RunPython(duplicates_delete, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="linkcheck",
            constraint=models.UniqueConstraint(
                condition=models.Q(("run__isnull", False)),
                fields=("run", "url"),
                name="one_link_check_per_url_per_run",
            ),
        ),
    ]
