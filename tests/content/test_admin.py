import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.content.models import ChoiceGroup, Resource, Step, Track
from apps.progress.models import Status, StepProgress
from apps.progress.selectors import track_completion_for
from apps.progress.services import step_status_set
from tests.content.admin_forms import step_form_data
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:content_track_changelist",
    "admin:content_step_changelist",
    "admin:content_resource_changelist",
    "admin:progress_enrollment_changelist",
    "admin:progress_stepprogress_changelist",
    "admin:progress_progressevent_changelist",
]


def _fill(tracks: int, steps: int) -> None:
    learner = UserFactory()
    for _ in range(tracks):
        track = TrackFactory()
        for _ in range(steps):
            step = StepFactory(track=track)
            StepResourceFactory(step=step)
            step_status_set(user=learner, step=step, status=Status.DONE)


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelist_query_count_does_not_grow_with_data(staff_client, name):
    url = reverse(name)
    _fill(tracks=1, steps=1)
    small = _count(staff_client, url)

    _fill(tracks=5, steps=8)
    large = _count(staff_client, url)

    assert large == small, f"{name}: {small} queries with little data, {large} with more"


def test_track_change_page_shows_ordered_steps(staff_client):
    track = TrackFactory(title="Deep learning")
    StepFactory(track=track, title="Second", position=2)
    StepFactory(track=track, title="First", position=1)

    response = staff_client.get(reverse("admin:content_track_change", args=[track.pk]))

    html = response.content.decode()
    assert html.index('value="First"') < html.index('value="Second"')


def test_publish_and_unpublish_actions(staff_client):
    draft = TrackFactory(is_published=False)
    url = reverse("admin:content_track_changelist")

    response = staff_client.post(
        url, {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert "1 track(s) published." in response.content.decode()
    draft.refresh_from_db()
    assert draft.is_published

    staff_client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert not draft.is_published


def test_prerequisite_cycle_is_refused_in_admin(staff_client):
    track = TrackFactory()
    first, second = StepFactory(track=track), StepFactory(track=track)
    second.prerequisites.add(first)

    response = staff_client.post(
        reverse("admin:content_step_change", args=[first.pk]),
        step_form_data(first, prerequisites=[second.pk]),
    )

    assert response.status_code == 200
    assert "would form a cycle" in response.content.decode()
    assert not first.prerequisites.exists()


def test_prerequisite_from_another_track_is_refused(staff_client):
    step, foreign = StepFactory(), StepFactory()

    response = staff_client.post(
        reverse("admin:content_step_change", args=[step.pk]),
        step_form_data(step, prerequisites=[foreign.pk]),
    )

    assert "belongs to another track" in response.content.decode()
    assert not step.prerequisites.exists()


def test_valid_prerequisite_is_saved(staff_client):
    track = TrackFactory()
    first, second = StepFactory(track=track), StepFactory(track=track)

    response = staff_client.post(
        reverse("admin:content_step_change", args=[second.pk]),
        step_form_data(second, prerequisites=[first.pk]),
    )

    assert response.status_code == 302
    assert list(second.prerequisites.all()) == [first]


def test_resource_url_is_normalized_and_duplicates_refused(staff_client):
    ResourceFactory(url="https://example.com/course")
    url = reverse("admin:content_resource_add")
    form = {
        "title": "Same course",
        "kind": "course",
        "cost": "free",
        "language": "en",
        "step_links-TOTAL_FORMS": 0,
        "step_links-INITIAL_FORMS": 0,
    }

    duplicate = staff_client.post(url, {**form, "url": "HTTPS://Example.com/course/?utm_source=x"})
    assert duplicate.status_code == 200
    assert "already exists" in duplicate.content.decode()

    created = staff_client.post(url, {**form, "url": "HTTPS://Example.com/other/"})
    assert created.status_code == 302
    assert Resource.objects.filter(url="https://example.com/other").exists()


def test_resource_page_shows_where_it_is_used(staff_client):
    link = StepResourceFactory(step__title="Read the paper", step__track__title="Papers")

    response = staff_client.get(reverse("admin:content_resource_change", args=[link.resource_id]))

    html = response.content.decode()
    assert "Read the paper" in html and "Papers" in html


def test_resource_changelist_filters_and_search(staff_client):
    ResourceFactory(title="Attention paper", kind="paper", provider="arXiv")
    ResourceFactory(title="Machine learning MOOC", kind="course", provider="Coursera")
    url = reverse("admin:content_resource_changelist")

    assert "Attention paper" in staff_client.get(url, {"kind__exact": "paper"}).content.decode()
    assert (
        "Machine learning MOOC"
        not in staff_client.get(url, {"kind__exact": "paper"}).content.decode()
    )
    assert "Machine learning MOOC" in staff_client.get(url, {"q": "coursera"}).content.decode()


def test_progress_is_read_only_for_staff(staff_client, learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)

    assert staff_client.get(reverse("admin:progress_stepprogress_add")).status_code == 403
    changelist = staff_client.get(reverse("admin:progress_progressevent_changelist"))
    assert learner.email in changelist.content.decode()


def test_learners_cannot_reach_admin(client, learner):
    client.force_login(learner)
    response = client.get(reverse("admin:content_track_changelist"))
    assert response.status_code == 302


def test_autocomplete_for_resources(staff_client):
    ResourceFactory(title="Deep Learning book")
    step = StepFactory()
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "deep",
            "app_label": "content",
            "model_name": "stepresource",
            "field_name": "resource",
        },
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["text"] == "Deep Learning book"
    assert Track.objects.filter(pk=step.track_id).exists()


# --- removing steps: learners' progress is never deleted --------------------------------


def test_deleting_a_step_with_progress_in_admin_retires_it_and_says_so(staff_client, learner):

    step = StepFactory(title="Attention paper")
    step_status_set(user=learner, step=step, status=Status.DONE)
    url = reverse("admin:content_step_delete", args=[step.pk])

    confirm = staff_client.get(url).content.decode()
    assert "on “Attention paper”, so it will be retired, not deleted" in confirm
    assert "Attention paper — retired, progress kept" in confirm

    response = staff_client.post(url, {"post": "yes"}, follow=True)

    assert "was retired, not deleted" in response.content.decode()
    step.refresh_from_db()
    assert step.retired_at is not None
    assert StepProgress.objects.get(user=learner, step=step).status == Status.DONE


def test_deleting_a_step_nobody_has_progress_on_really_deletes_it(staff_client):

    step = StepFactory(title="Never touched")
    url = reverse("admin:content_step_delete", args=[step.pk])

    assert "will be retired" not in staff_client.get(url).content.decode()
    staff_client.post(url, {"post": "yes"})

    assert not Step.objects.filter(pk=step.pk).exists()


def test_delete_selected_retires_steps_with_progress_and_restore_brings_them_back(
    staff_client, learner
):

    track = TrackFactory()
    kept, touched, untouched = (
        StepFactory(track=track, position=n, title=f"Step {n}") for n in range(3)
    )
    step_status_set(user=learner, step=kept, status=Status.DONE)
    step_status_set(user=learner, step=touched, status=Status.DONE)
    url = reverse("admin:content_step_changelist")
    selected = {"action": "delete_selected", "_selected_action": [touched.pk, untouched.pk]}

    confirm = staff_client.post(url, selected).content.decode()
    assert "on “Step 1”, so it will be retired, not deleted" in confirm
    done = staff_client.post(url, {**selected, "post": "yes"}, follow=True).content.decode()

    assert "1 step(s) retired, not deleted" in done and "Successfully deleted" not in done
    assert not Step.objects.filter(pk=untouched.pk).exists()
    assert track_completion_for(user_id=learner.pk, track_id=track.pk).required_total == 1

    staff_client.post(url, {"action": "restore", "_selected_action": [touched.pk]})

    touched.refresh_from_db()
    assert touched.retired_at is None
    completion = track_completion_for(user_id=learner.pk, track_id=track.pk)
    assert (completion.required_total, completion.required_done) == (2, 2)


def test_a_track_learners_have_progress_on_cannot_be_deleted_and_says_why(staff_client, learner):
    track = TrackFactory(title="Kept track")
    first, _ = StepFactory(track=track, position=0), StepFactory(track=track, position=1)
    step_status_set(user=learner, step=first, status=Status.DONE)
    url = reverse("admin:content_track_delete", args=[track.pk])

    page = staff_client.get(url).content.decode()
    staff_client.post(url, {"post": "yes"})

    assert "learners have progress on 1 of its steps; unpublish it instead" in page
    assert learner.email not in page  # no learner's rows listed to staff
    assert Track.objects.filter(pk=track.pk).exists()
    assert StepProgress.objects.filter(user=learner, step=first).exists()
    # Bulk "delete selected" refuses the same way.
    changelist = reverse("admin:content_track_changelist")
    selected = {"action": "delete_selected", "_selected_action": [track.pk], "post": "yes"}
    staff_client.post(changelist, selected)
    assert Track.objects.filter(pk=track.pk).exists()


def test_a_track_nobody_has_progress_on_can_be_deleted(staff_client):
    track = TrackFactory()
    StepFactory(track=track)
    url = reverse("admin:content_track_delete", args=[track.pk])

    staff_client.post(url, {"post": "yes"})

    assert not Track.objects.filter(pk=track.pk).exists()


def test_learner_data_on_a_step_is_protected_below_the_admin_too(learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)

    with pytest.raises(ProtectedError):
        step.track.delete()

    assert StepProgress.objects.filter(user=learner, step=step).exists()


def test_a_track_page_in_admin_cannot_delete_steps_inline(staff_client):
    step = StepFactory()

    page = staff_client.get(reverse("admin:content_track_change", args=[step.track_id]))

    assert "steps-0-DELETE" not in page.content.decode()


def test_a_cycle_through_a_choice_group_is_refused_in_admin(staff_client):
    track = TrackFactory()
    group = ChoiceGroup.objects.create(track=track, key="pick", title="Pick a course")
    course = StepFactory(track=track, title="A course", group=group)
    StepFactory(track=track, group=group)
    project = StepFactory(track=track, title="A project")
    project.prerequisite_groups.add(group)

    # The course would wait for the project, which waits for the course's group.
    response = staff_client.post(
        reverse("admin:content_step_change", args=[course.pk]),
        step_form_data(course, prerequisites=[project.pk], group=group.pk),
    )

    assert response.status_code == 200
    assert "would form a cycle" in response.content.decode()
    assert "“Pick a course”" in response.content.decode()
    assert not course.prerequisites.exists()


def test_joining_a_group_that_closes_a_cycle_is_refused_in_admin(staff_client):
    track = TrackFactory()
    group = ChoiceGroup.objects.create(track=track, key="pick", title="Pick a course")
    StepFactory(track=track, group=group)
    project = StepFactory(track=track, title="A project")
    project.prerequisite_groups.add(group)
    later = StepFactory(track=track, title="Later")
    later.prerequisites.add(project)

    response = staff_client.post(
        reverse("admin:content_step_change", args=[later.pk]),
        step_form_data(later, prerequisites=[project.pk], group=group.pk),
    )

    assert "would form a cycle" in response.content.decode()
    later.refresh_from_db()
    assert later.group is None
