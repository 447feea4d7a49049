"""Curators' changes to tracks are kept as a history: by the roadmap loader, the admin,
retiring and restoring. Learners are told of them; curators look them up in the admin."""

import textwrap
from pathlib import Path

import pytest
from django.urls import reverse

from apps.content.models import Step, Track, TrackChange
from apps.content.services import resource_url_set, roadmaps_load, steps_remove, steps_restore
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.content.admin_forms import step_form_data
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, UserFactory

pytestmark = pytest.mark.django_db

V1 = """
slug: changing
title: A changing track
level: beginner
steps:
  - key: intro
    title: Introduction
    minutes: 30
    resources:
      - url: https://example.org/old-course
        title: Old course
  - key: python
    title: Python
    minutes: 600
  - key: extras
    title: Extras
    minutes: 60
"""

# intro's course replaced, python reworded, extras removed, two steps added.
V2 = """
slug: changing
title: A changing track
level: beginner
steps:
  - key: intro
    title: Introduction
    minutes: 30
    resources:
      - url: https://example.org/new-course
        title: New course
  - key: numpy
    title: NumPy
    minutes: 120
  - key: python
    title: Python, the basics
    minutes: 600
  - key: pandas
    title: pandas
    minutes: 120
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "changing.yaml"
    path.write_text(textwrap.dedent(text))
    return roadmaps_load(paths=[path])


def _kinds(track: Track) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for kind, key in TrackChange.objects.filter(track=track).values_list("kind", "step_key"):
        kinds.setdefault(kind, []).append(key)
    return {kind: sorted(keys) for kind, keys in kinds.items()}


def test_a_new_track_has_no_history_and_an_unchanged_reload_adds_none(tmp_path):
    _load(tmp_path, V1)
    _load(tmp_path, V1)
    assert not TrackChange.objects.exists()


def test_reloading_an_edited_roadmap_records_what_learners_will_be_told(tmp_path):
    _load(tmp_path, V1)
    track = Track.objects.get(slug="changing")
    learner = UserFactory()
    step_status_set(user=learner, step=track.steps.get(key="extras"), status=Status.DONE)

    _load(tmp_path, V2)

    assert _kinds(track) == {
        "step_added": ["numpy", "pandas"],
        "step_changed": ["python"],
        "step_retired": ["extras"],
        "resource_replaced": ["intro"],
    }
    replaced = TrackChange.objects.get(kind="resource_replaced")
    assert replaced.detail == "Old course → New course"
    assert replaced.source == TrackChange.Source.ROADMAP
    assert TrackChange.objects.get(kind="step_changed").detail == "title"
    # Loading the same file again tells nothing new.
    before = TrackChange.objects.count()
    _load(tmp_path, V2)
    assert TrackChange.objects.count() == before


def test_a_step_back_in_the_file_is_recorded_as_back(tmp_path):
    _load(tmp_path, V1)
    track = Track.objects.get(slug="changing")
    step_status_set(user=UserFactory(), step=track.steps.get(key="extras"), status=Status.DONE)
    _load(tmp_path, V2)
    _load(tmp_path, V1)
    assert "extras" in _kinds(track)["step_restored"]


def test_retiring_deleting_and_restoring_are_recorded_and_outlive_a_deleted_step():
    kept, gone = StepFactory(title="Kept"), StepFactory(title="Gone")
    gone.track = kept.track
    gone.save()
    step_status_set(user=UserFactory(), step=kept, status=Status.DONE)

    removal = steps_remove(step_ids=[kept.pk, gone.pk])

    assert removal.deleted == [gone.pk]
    retired = TrackChange.objects.filter(kind="step_retired").order_by("step_title")
    assert [(c.step_title, c.step_id) for c in retired] == [("Gone", None), ("Kept", kept.pk)]
    steps_restore(step_ids=[kept.pk])
    assert TrackChange.objects.filter(kind="step_restored", step=kept).count() == 1


def test_admin_adds_and_edits_steps_and_their_resources_into_the_history(staff_client):
    step = StepFactory(title="Old title")
    old = StepResourceFactory(step=step, resource__title="Old book").resource
    new = ResourceFactory(title="New book")
    url = reverse("admin:content_step_change", args=[step.pk])

    # Given a curator who renames the step and swaps its book
    link = step.step_resources.get()
    data = step_form_data(
        step,
        title="New title",
        **{
            "step_resources-TOTAL_FORMS": 1,
            "step_resources-INITIAL_FORMS": 1,
            "step_resources-0-id": link.pk,
            "step_resources-0-step": step.pk,
            "step_resources-0-position": 1,
            "step_resources-0-resource": new.pk,
            "step_resources-0-note": "",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()

    changes = {c.kind: c for c in TrackChange.objects.filter(step=step)}
    assert changes["step_changed"].detail == "title"
    assert changes["resource_replaced"].detail == f"{old.title} → {new.title}"
    assert changes["step_changed"].source == TrackChange.Source.ADMIN

    # A position alone is no news.
    TrackChange.objects.all().delete()
    staff_client.post(url, step_form_data(Step.objects.get(pk=step.pk), position=9))
    assert not TrackChange.objects.exists()

    # A new step is.
    add = staff_client.post(
        reverse("admin:content_step_add"),
        step_form_data(step, key="brand-new", title="Brand new", position=10),
    )
    assert add.status_code == 302
    assert TrackChange.objects.get().kind == "step_added"


def test_curators_see_the_history_read_only_in_the_admin(staff_client):
    step = StepFactory(title="Observed")
    steps_remove(step_ids=[step.pk])
    html = staff_client.get(reverse("admin:content_trackchange_changelist")).content.decode()
    assert "Observed" in html and "Step retired" in html
    assert staff_client.get(reverse("admin:content_trackchange_add")).status_code == 403


def test_a_resource_moved_to_another_url_is_replaced_for_the_steps_using_it():
    link = StepResourceFactory(resource__title="The course", resource__url="https://example.org/a")
    StepResourceFactory(resource=link.resource)  # another track's step uses it too
    resource_url_set(resource=link.resource, url="https://example.org/b")
    changes = TrackChange.objects.filter(kind="resource_replaced")
    assert changes.count() == 2
    assert {c.detail for c in changes} == {"The course: now at https://example.org/b"}
