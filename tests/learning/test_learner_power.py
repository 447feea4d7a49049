"""The track page and dashboard: notes, "done here too", mark all done / reset with undo."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.progress.models import BulkAction, ProgressEvent, Status, StepNote, StepProgress
from apps.progress.services import step_note_set, step_status_set, track_bulk_set
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def step():
    track = TrackFactory(slug="python-first")
    StepFactory(track=track, position=2, key="later")
    return StepFactory(track=track, position=1, key="basics", title="Learn Python")


def _note_url(step) -> str:
    return reverse("learning:step-note", args=[step.track.slug, step.key])


def _track_url(track) -> str:
    return reverse("learning:track", args=[track.slug])


# --- notes ------------------------------------------------------------------------------


def test_htmx_saves_the_note_as_the_learner_types_and_the_page_shows_it_rendered(
    client, learner, step
):
    client.force_login(learner)

    response = client.post(
        _note_url(step),
        {"body": "Try **chapter 2** <script>alert(1)</script>", "links": "https://a.example/x"},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Saved" in response.content.decode()
    html = client.get(_track_url(step.track)).content.decode()
    assert "<strong>chapter 2</strong>" in html
    assert "<script>alert(1)</script>" not in html  # sanitized when shown
    assert 'href="https://a.example/x"' in html


def test_a_plain_form_saves_the_note_and_goes_back_to_the_step(client, learner, step):
    client.force_login(learner)

    response = client.post(_note_url(step), {"body": "No JavaScript here", "links": ""})

    assert response.status_code == 302
    assert response.url == "/tracks/python-first/#step-basics"
    assert StepNote.objects.get(user=learner, step=step).body == "No JavaScript here"


def test_a_note_past_the_limit_is_refused_and_the_text_is_kept(client, learner, step, settings):
    settings.STEPWISE_NOTE_MAX_CHARS = 10
    client.force_login(learner)
    step_note_set(user=learner, step=step, body="short", links=[])

    plain = client.post(_note_url(step), {"body": "much too long a note", "links": ""})
    htmx = client.post(_note_url(step), {"body": "much too long a note", "links": ""}, **HTMX)

    assert plain.status_code == 400
    assert "at most 10 characters" in plain.content.decode()
    assert "much too long a note</textarea>" in plain.content.decode()
    assert htmx.status_code == 400 and "Not saved yet" in htmx.content.decode()
    assert StepNote.objects.get().body == "short"


def test_a_note_is_never_shown_to_anyone_else(client, learner, step):
    step_note_set(user=learner, step=step, body="My secret plan", links=["https://mine.example/"])
    other = UserFactory()
    client.force_login(other)
    assert "My secret plan" not in client.get(_track_url(step.track)).content.decode()
    assert "My secret plan" not in client.get(_note_url(step)).content.decode()
    client.logout()
    assert "My secret plan" not in client.get(_track_url(step.track)).content.decode()
    assert client.post(_note_url(step), {"body": "x"}).status_code == 302  # to log in
    assert StepNote.objects.get().body == "My secret plan"


def test_staff_see_that_a_note_exists_but_not_its_text(staff_client, learner, step):
    note = step_note_set(user=learner, step=step, body="Private words", links=[])

    listing = staff_client.get(reverse("admin:progress_stepnote_changelist")).content.decode()
    detail = staff_client.get(
        reverse("admin:progress_stepnote_change", args=[note.pk])
    ).content.decode()

    assert learner.email in listing
    assert "Private words" not in listing and "Private words" not in detail


def test_a_status_click_keeps_the_note_on_the_page(client, learner, step):
    step_note_set(user=learner, step=step, body="Keep me", links=[])
    client.force_login(learner)
    url = reverse("learning:step-status", args=[step.track.slug, step.key])

    html = client.post(url, {"status": Status.DONE}, **HTMX).content.decode()

    # The row comes back with an empty note placeholder that htmx swaps for the one on
    # the page (hx-preserve), so a note being typed is not lost either.
    assert 'id="note-basics" hx-preserve="true"></div>' in html
    assert "Keep me" not in html


# --- done here too ----------------------------------------------------------------------


@pytest.fixture
def shared():
    course = ResourceFactory(title="Machine Learning Specialization")
    first = TrackFactory(slug="first", title="First track")
    second = TrackFactory(slug="second", title="Second track")
    done = StepFactory(track=first, key="ml", title="ML course")
    offered = StepFactory(track=second, key="ml", title="The ML course")
    StepResourceFactory(step=done, resource=course)
    StepResourceFactory(step=offered, resource=course)
    return done, offered


def test_a_step_finished_in_another_track_is_offered_in_one_click(client, learner, shared):
    done, offered = shared
    client.force_login(learner)
    page = client.get(_track_url(offered.track)).content.decode()
    assert "You finished this in" not in page

    step_status_set(user=learner, step=done, status=Status.DONE)
    page = client.get(_track_url(offered.track)).content.decode()

    assert 'You finished this in <a href="/tracks/first/">First track</a>' in page
    assert not StepProgress.objects.filter(step=offered).exists()  # only offered
    url = reverse("learning:step-status", args=["second", "ml"])
    html = client.post(url, {"status": Status.DONE}, **HTMX).content.decode()
    assert "You finished this in" not in html
    assert StepProgress.objects.get(user=learner, step=offered).status == Status.DONE
    # Back to to do by a click, the offer comes back in the row at once.
    html = client.post(url, {"status": Status.TODO}, **HTMX).content.decode()
    assert "You finished this in" in html


def test_the_dashboard_offers_it_too(client, learner, shared):
    done, offered = shared
    step_status_set(user=learner, step=StepFactory(track=offered.track), status="in_progress")
    step_status_set(user=learner, step=done, status=Status.DONE)
    client.force_login(learner)

    page = client.get(reverse("learning:dashboard")).content.decode()

    assert "Done elsewhere" in page and "Second track: The ML course" in page
    response = client.post(
        reverse("learning:step-status", args=["second", "ml"]),
        {"status": Status.DONE, "next": "dashboard"},
    )
    assert response.url == reverse("learning:dashboard")
    assert "Done elsewhere" not in client.get(reverse("learning:dashboard")).content.decode()


def test_another_learner_is_offered_nothing(client, learner, shared):
    done, offered = shared
    step_status_set(user=learner, step=done, status=Status.DONE)
    client.force_login(UserFactory())
    assert "You finished this in" not in client.get(_track_url(offered.track)).content.decode()


# --- bulk actions with undo ---------------------------------------------------------------


def test_mark_all_done_asks_first_then_offers_undo_for_the_session(client, learner, step):
    client.force_login(learner)
    url = reverse("learning:track-bulk", args=[step.track.slug, "mark_done"])

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Mark every step" in confirm.content.decode()
    assert not StepProgress.objects.exists()  # asking changes nothing

    response = client.post(url)

    assert response.status_code == 302 and response.url == _track_url(step.track)
    assert set(StepProgress.objects.values_list("status", flat=True)) == {Status.DONE}
    page = client.get(_track_url(step.track)).content.decode()
    assert "Mark all done: 2 steps changed." in page
    undo_url = re.search(r'action="(/tracks/python-first/undo/[^"]+)"', page).group(1)
    # Still offered on the next visit of the session.
    assert undo_url in client.get(_track_url(step.track)).content.decode()

    undone = client.post(undo_url, **HTMX)

    assert undone.status_code == 200 and undone.headers["HX-Refresh"] == "true"
    assert set(StepProgress.objects.values_list("status", flat=True)) == {Status.TODO}
    page = client.get(_track_url(step.track)).content.decode()
    assert "Undone: 2 steps went back" in page and undo_url not in page


def test_reset_then_undo_without_javascript(client, learner, step):
    step_status_set(user=learner, step=step, status=Status.DONE)
    client.force_login(learner)
    client.post(reverse("learning:track-bulk", args=[step.track.slug, "reset"]))
    assert StepProgress.objects.get(step=step).status == Status.TODO
    action = BulkAction.objects.get(kind="reset")

    response = client.post(reverse("learning:bulk-undo", args=[step.track.slug, action.pk]))

    assert response.status_code == 302
    assert StepProgress.objects.get(step=step).status == Status.DONE


def test_nobody_undoes_another_learners_action_or_acts_without_csrf(learner, step):
    action = track_bulk_set(user=learner, track=step.track, kind="mark_done").action
    other = Client()
    other.force_login(UserFactory())
    assert (
        other.post(reverse("learning:bulk-undo", args=["python-first", action.pk])).status_code
        == 404
    )
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    assert (
        strict.post(reverse("learning:bulk-undo", args=["python-first", action.pk])).status_code
        == 403
    )
    assert (
        strict.post(reverse("learning:track-bulk", args=["python-first", "reset"])).status_code
        == 403
    )
    assert set(StepProgress.objects.values_list("status", flat=True)) == {Status.DONE}
    assert not ProgressEvent.objects.filter(bulk__kind="undo").exists()


def test_an_unknown_bulk_action_is_404(client, learner, step):
    client.force_login(learner)
    assert (
        client.post(reverse("learning:track-bulk", args=[step.track.slug, "wipe"])).status_code
        == 404
    )
