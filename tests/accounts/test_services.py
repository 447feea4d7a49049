import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import User
from apps.accounts.services import user_delete, user_profile_update
from apps.progress.models import Enrollment, ProgressEvent, Status, StepProgress
from apps.progress.services import step_status_set
from tests.factories import StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_profile_update_changes_name_and_time_zone(learner):
    user_profile_update(user=learner, display_name="  Ada ", timezone="Asia/Kolkata")
    learner.refresh_from_db()
    assert (learner.display_name, learner.timezone) == ("Ada", "Asia/Kolkata")


def test_unknown_time_zone_is_refused(learner):
    with pytest.raises(ValidationError, match="is not a known time zone"):
        user_profile_update(user=learner, timezone="Mars/Olympus")
    learner.refresh_from_db()
    assert learner.timezone == "UTC"


def test_delete_removes_the_learner_and_their_progress(learner):
    other = UserFactory()
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)
    step_status_set(user=other, step=step, status=Status.DONE)

    user_delete(user=learner)

    assert not User.objects.filter(pk=learner.pk).exists()
    assert StepProgress.objects.get().user == other
    assert ProgressEvent.objects.get().user == other
    assert Enrollment.objects.get().user == other


def test_curators_edit_content_and_link_health_and_only_view_progress():
    from apps.accounts.services import curators_group_ensure

    curator = UserFactory(is_staff=True)
    curator.groups.add(curators_group_ensure())
    curator = User.objects.get(pk=curator.pk)  # fresh permission cache

    assert curator.has_perm("content.change_resource")
    assert curator.has_perm("linkhealth.view_brokenlinkreport")
    assert curator.has_perm("django_celery_beat.change_periodictask")
    assert curator.has_perm("progress.view_stepprogress")
    assert not curator.has_perm("progress.change_stepprogress")
    assert not curator.has_perm("accounts.change_user")
