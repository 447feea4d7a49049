"""Every change to content moves the content revision, so caches keyed by it stay true.

Content changes through its services (the roadmap loader, publishing, a resource's URL)
and through content's admin; each path is covered here, and each fails if its bump goes.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.content.models import ContentRevision, Resource, Step, StepResource, Track
from apps.content.services import resource_url_set, roadmaps_load, tracks_publish_set
from apps.core.errors import ApplicationError
from apps.linkhealth.models import ResourceHealth
from apps.linkhealth.outcomes import Outcome
from apps.linkhealth.services import resource_url_replace
from tests.content.admin_forms import resource_form_data, step_form_data
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROADMAP = "slug: t\ntitle: T\nlevel: beginner\nsteps: [{key: a, title: A, minutes: 5}]\n"


def revision() -> int:
    return ContentRevision.objects.get(pk=1).number


# --- services ------------------------------------------------------------------------------


def test_loading_new_roadmaps_moves_the_revision(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(ROADMAP)
    before = revision()

    roadmaps_load(paths=[path])

    assert revision() > before


def test_loading_an_edited_roadmap_moves_the_revision(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(ROADMAP)
    roadmaps_load(paths=[path])
    before = revision()

    path.write_text(ROADMAP.replace("title: A", "title: Another"))
    roadmaps_load(paths=[path])

    assert revision() > before


def test_loading_unchanged_roadmaps_keeps_the_revision(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(ROADMAP)
    roadmaps_load(paths=[path])
    before = revision()

    roadmaps_load(paths=[path])

    assert revision() == before


def test_publishing_and_unpublishing_move_the_revision():
    track = TrackFactory(is_published=False)
    before = revision()
    tracks_publish_set(track_ids=[track.pk], published=True)
    assert revision() > before

    before = revision()
    tracks_publish_set(track_ids=[track.pk], published=False)
    assert revision() > before


def test_publishing_a_published_track_keeps_the_revision():
    track = TrackFactory(is_published=True)
    before = revision()

    tracks_publish_set(track_ids=[track.pk], published=True)

    assert revision() == before


def test_setting_a_resource_url_moves_the_revision():
    resource = ResourceFactory(url="https://example.org/old")
    before = revision()

    resource_url_set(resource=resource, url="https://example.org/new")

    assert Resource.objects.get(pk=resource.pk).url == "https://example.org/new"
    assert revision() > before


def test_a_refused_resource_url_keeps_the_revision():
    resource = ResourceFactory(url="https://example.org/same")
    before = revision()

    with pytest.raises(ApplicationError, match="same as the current"):
        resource_url_set(resource=resource, url="https://example.org/same/")

    assert revision() == before


def test_link_health_replacing_a_url_moves_the_revision():
    resource = ResourceFactory(url="https://example.org/moved")
    before = revision()

    resource_url_replace(resource=resource, url="https://example.org/here-now")

    assert revision() > before


# --- admin: each save and delete hook ------------------------------------------------------


@pytest.fixture
def admin_request(rf):
    request = rf.post("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return request


def _track_form(request: Any, track: Track) -> Any:
    model_admin = admin.site.get_model_admin(Track)
    data = {
        "slug": track.slug,
        "title": f"{track.title}, renamed",
        "summary": track.summary,
        "description": track.description,
        "level": track.level,
        "goal": track.goal,
        "is_published": "on" if track.is_published else "",
        "position": track.position,
    }
    form = model_admin.get_form(request, track, change=True)(data=data, instance=track)
    assert form.is_valid(), form.errors
    return form


def _save_model(request: Any, track: Track) -> None:
    form = _track_form(request, track)
    admin.site.get_model_admin(Track).save_model(request, form.save(commit=False), form, True)


def _save_related(request: Any, track: Track) -> None:
    form = _track_form(request, track)
    form.save(commit=False)
    admin.site.get_model_admin(Track).save_related(request, form, [], True)


def _delete_model(request: Any, track: Track) -> None:
    admin.site.get_model_admin(Track).delete_model(request, track)


def _delete_queryset(request: Any, track: Track) -> None:
    admin.site.get_model_admin(Track).delete_queryset(request, Track.objects.filter(pk=track.pk))


@pytest.mark.parametrize(
    "hook",
    [_save_model, _save_related, _delete_model, _delete_queryset],
    ids=["save_model", "save_related", "delete_model", "delete_queryset"],
)
def test_each_admin_hook_moves_the_revision(
    admin_request: Any, hook: Callable[[Any, Track], None]
) -> None:
    track = TrackFactory()
    before = revision()

    hook(admin_request, track)

    assert revision() > before


@pytest.mark.parametrize("model", [Track, Step, Resource])
def test_every_content_admin_bumps(model):
    # The hooks live in one base class; a content admin built without it would not bump.
    from apps.content.admin import ContentAdmin

    assert isinstance(admin.site.get_model_admin(model), ContentAdmin)


# --- admin: what a curator does ------------------------------------------------------------


def _track_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "new-track",
        "title": "New track",
        "summary": "",
        "description": "",
        "level": "beginner",
        "goal": "",
        "position": 0,
        "steps-TOTAL_FORMS": 0,
        "steps-INITIAL_FORMS": 0,
        "choice_groups-TOTAL_FORMS": 0,
        "choice_groups-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


def _moves_revision(action: Callable[[], Any]) -> Any:
    before = revision()
    response = action()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert revision() > before
    return response


def test_adding_a_track_with_a_step_in_admin_moves_the_revision(staff_client):
    data = _track_data(
        **{
            "steps-TOTAL_FORMS": 1,
            "steps-0-position": 1,
            "steps-0-key": "first",
            "steps-0-title": "First",
            "steps-0-estimated_minutes": 10,
        }
    )

    _moves_revision(lambda: staff_client.post(reverse("admin:content_track_add"), data))

    assert Step.objects.get(track__slug="new-track").title == "First"


def test_editing_a_track_in_admin_moves_the_revision(staff_client):
    track = TrackFactory()
    data = _track_data(slug=track.slug, title="Renamed")

    _moves_revision(
        lambda: staff_client.post(reverse("admin:content_track_change", args=[track.pk]), data)
    )

    assert Track.objects.get(pk=track.pk).title == "Renamed"


def test_editing_a_step_inline_on_its_track_moves_the_revision(staff_client):
    step = StepFactory(title="Old title")
    data = _track_data(
        slug=step.track.slug,
        title=step.track.title,
        **{
            "steps-TOTAL_FORMS": 1,
            "steps-INITIAL_FORMS": 1,
            "steps-0-id": step.pk,
            "steps-0-track": step.track_id,
            "steps-0-position": step.position,
            "steps-0-key": step.key,
            "steps-0-title": "New title",
            "steps-0-estimated_minutes": step.estimated_minutes,
        },
    )

    _moves_revision(
        lambda: staff_client.post(reverse("admin:content_track_change", args=[step.track_id]), data)
    )

    assert Step.objects.get(pk=step.pk).title == "New title"


def test_reordering_tracks_in_the_changelist_moves_the_revision(staff_client):
    track = TrackFactory(position=1)
    data = {
        "form-TOTAL_FORMS": 1,
        "form-INITIAL_FORMS": 1,
        "form-0-id": track.pk,
        "form-0-position": 5,
        "_save": "Save",
    }

    _moves_revision(lambda: staff_client.post(reverse("admin:content_track_changelist"), data))

    assert Track.objects.get(pk=track.pk).position == 5


@pytest.mark.parametrize("action", ["publish", "unpublish"])
def test_publish_actions_in_admin_move_the_revision(staff_client, action):
    track = TrackFactory(is_published=action == "unpublish")
    data = {"action": action, "_selected_action": [track.pk]}

    _moves_revision(lambda: staff_client.post(reverse("admin:content_track_changelist"), data))

    assert Track.objects.get(pk=track.pk).is_published == (action == "publish")


@pytest.mark.parametrize(
    "factory", [TrackFactory, StepFactory, ResourceFactory], ids=["track", "step", "resource"]
)
def test_deleting_content_in_admin_moves_the_revision(staff_client, factory):
    obj = factory()
    name = obj._meta.model_name

    _moves_revision(
        lambda: staff_client.post(
            reverse(f"admin:content_{name}_delete", args=[obj.pk]), {"post": "yes"}
        )
    )

    assert not type(obj).objects.filter(pk=obj.pk).exists()


def test_deleting_selected_steps_in_admin_moves_the_revision(staff_client):
    step = StepFactory()
    data = {"action": "delete_selected", "_selected_action": [step.pk], "post": "yes"}

    _moves_revision(lambda: staff_client.post(reverse("admin:content_step_changelist"), data))

    assert not Step.objects.filter(pk=step.pk).exists()


def test_setting_prerequisites_in_admin_moves_the_revision(staff_client):
    first = StepFactory()
    second = StepFactory(track=first.track)

    _moves_revision(
        lambda: staff_client.post(
            reverse("admin:content_step_change", args=[second.pk]),
            step_form_data(second, prerequisites=[first.pk]),
        )
    )

    assert list(second.prerequisites.all()) == [first]


def test_linking_a_resource_inline_on_a_step_moves_the_revision(staff_client):
    step, resource = StepFactory(), ResourceFactory()
    data = step_form_data(
        step,
        **{
            "step_resources-TOTAL_FORMS": 1,
            "step_resources-0-position": 1,
            "step_resources-0-resource": resource.pk,
            "step_resources-0-note": "Read chapter 2",
        },
    )

    _moves_revision(
        lambda: staff_client.post(reverse("admin:content_step_change", args=[step.pk]), data)
    )

    assert StepResource.objects.get(step=step).note == "Read chapter 2"


def test_unlinking_a_resource_inline_on_a_step_moves_the_revision(staff_client):
    link = StepResourceFactory()
    data = step_form_data(
        link.step,
        **{
            "step_resources-TOTAL_FORMS": 1,
            "step_resources-INITIAL_FORMS": 1,
            "step_resources-0-id": link.pk,
            "step_resources-0-step": link.step_id,
            "step_resources-0-position": link.position,
            "step_resources-0-resource": link.resource_id,
            "step_resources-0-DELETE": "on",
        },
    )

    _moves_revision(
        lambda: staff_client.post(reverse("admin:content_step_change", args=[link.step_id]), data)
    )

    assert not StepResource.objects.filter(pk=link.pk).exists()


def test_editing_a_resource_in_admin_moves_the_revision(staff_client):
    resource = ResourceFactory()
    data = resource_form_data(resource, title="Retitled")

    _moves_revision(
        lambda: staff_client.post(
            reverse("admin:content_resource_change", args=[resource.pk]), data
        )
    )

    assert Resource.objects.get(pk=resource.pk).title == "Retitled"


@pytest.mark.parametrize("how", ["action", "button"])
def test_using_the_new_url_in_admin_moves_the_revision(staff_client, how):
    resource = ResourceFactory(url="https://example.org/old-place")
    ResourceHealth.objects.create(
        resource=resource, health=Outcome.MOVED, suggested_url="https://example.org/new-place"
    )

    if how == "action":
        _moves_revision(
            lambda: staff_client.post(
                reverse("admin:content_resource_changelist"),
                {"action": "use_new_url", "_selected_action": [resource.pk]},
            )
        )
    else:
        _moves_revision(
            lambda: staff_client.post(reverse("admin:linkhealth_use_new_url", args=[resource.pk]))
        )

    assert Resource.objects.get(pk=resource.pk).url == "https://example.org/new-place"
