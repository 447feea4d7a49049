"""A learner's public page /u/<handle>/ and README badges: off by default, only the
tracks chosen, nothing private, gone the moment it is turned off."""

import re

import pytest
from django.urls import reverse

from apps.learning.models import PublicProfile
from apps.learning.public import public_profile_update
from apps.progress.models import Status
from apps.progress.services import step_note_set, step_status_set
from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def _learner_with_tracks():
    learner = UserFactory(
        email="ada.private@example.com", display_name="Ada", timezone="Pacific/Auckland"
    )
    shown = TrackFactory(title="Deep learning", slug="deep-learning")
    hidden = TrackFactory(title="Secret side quest", slug="side-quest")
    steps = [StepFactory(track=shown, position=i, title=f"DL {i}") for i in range(4)]
    step_status_set(user=learner, step=steps[0], status=Status.DONE)
    step_status_set(user=learner, step=steps[1], status=Status.IN_PROGRESS)
    step_note_set(user=learner, step=steps[0], body="my very private note", links=[])
    step_status_set(user=learner, step=StepFactory(track=hidden), status=Status.DONE)
    return learner, shown, hidden


def _settings(client, **data):
    return client.post(reverse("learning:public-settings"), data)


def test_public_page_is_off_by_default_and_answers_404(client):
    learner, shown, _ = _learner_with_tracks()
    assert not PublicProfile.objects.exists()
    client.force_login(learner)
    # Saved with a handle but not turned on: still 404, and so is its badge.
    _settings(client, handle="ada", tracks=[shown.pk])
    client.logout()
    assert client.get("/u/ada/").status_code == 404
    assert client.get("/u/ada/deep-learning.svg").status_code == 404


def test_public_page_shows_chosen_tracks_streak_chart_map_and_nothing_private(client):
    learner, shown, _hidden = _learner_with_tracks()
    client.force_login(learner)
    response = _settings(client, handle="Ada-L", is_public="on", tracks=[shown.pk])
    assert response.status_code == 302
    client.logout()

    response = client.get("/u/ada-l/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Ada</h1>" in html and "@ada-l" in html
    assert "Deep learning" in html and "1 of 4 steps done" in html
    assert "day current streak" in html  # the streak
    assert 'class="activity-chart"' in html  # the 12-week chart
    # The track's map, with the learner's statuses: one step done, one in progress.
    assert html.count('class="map-node map-done"') == 1
    assert html.count('class="map-node map-in_progress"') == 1
    # Nothing private, and not the track left out.
    for private in ("ada.private", "example.com", "Pacific", "Auckland", "my very private note"):
        assert private not in html, private
    assert "Secret side quest" not in html
    # A link preview: Open Graph tags with an absolute URL.
    assert '<meta property="og:title" content="Ada on Stepwise">' in html
    assert re.search(r'<meta property="og:url" content="http[^"]+/u/ada-l/">', html)
    assert "Deep learning (25%)" in html  # og:description
    assert "no-cache" in response["Cache-Control"]
    # The handle is not case-sensitive.
    assert client.get("/u/ADA-L/").status_code == 200


def test_turning_the_page_off_takes_effect_at_once_despite_caches(client):
    learner, shown, _ = _learner_with_tracks()
    client.force_login(learner)
    _settings(client, handle="ada", is_public="on", tracks=[shown.pk])
    assert client.get("/u/ada/").status_code == 200
    assert client.get("/u/ada/deep-learning.svg").status_code == 200

    _settings(client, handle="ada", tracks=[shown.pk])  # the box unticked

    assert client.get("/u/ada/").status_code == 404
    assert client.get("/u/ada/deep-learning.svg").status_code == 404
    # A badge revalidated with its old ETag is 404 too, not 304.
    assert client.get("/u/ada/deep-learning.svg", HTTP_IF_NONE_MATCH='"x"').status_code == 404


def test_a_track_taken_off_the_page_leaves_it_and_its_badge(client):
    learner, shown, _ = _learner_with_tracks()
    client.force_login(learner)
    _settings(client, handle="ada", is_public="on", tracks=[shown.pk])
    assert "Deep learning" in client.get("/u/ada/").content.decode()
    _settings(client, handle="ada", is_public="on")
    assert "Deep learning" not in client.get("/u/ada/").content.decode().split("<main", 1)[1]
    assert client.get("/u/ada/deep-learning.svg").status_code == 404


def test_the_page_follows_progress(client):
    learner, shown, _ = _learner_with_tracks()
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[shown.pk])
    assert "1 of 4 steps done" in client.get("/u/ada/").content.decode()
    step_status_set(user=learner, step=shown.steps.get(title="DL 1"), status=Status.DONE)
    assert "2 of 4 steps done" in client.get("/u/ada/").content.decode()


def test_badge_is_an_svg_with_an_etag_and_answers_304_until_progress_moves(client):
    learner, shown, _ = _learner_with_tracks()
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[shown.pk])

    response = client.get("/u/ada/deep-learning.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith("<svg") and "Deep learning: 25%" in body
    etag = response["ETag"]
    assert "no-cache" in response["Cache-Control"]
    again = client.get("/u/ada/deep-learning.svg", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag

    step_status_set(user=learner, step=shown.steps.get(title="DL 1"), status=Status.DONE)
    moved = client.get("/u/ada/deep-learning.svg", HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200 and "Deep learning: 50%" in moved.content.decode()
    assert client.get("/u/ada/side-quest.svg").status_code == 404  # not shown on the page
    assert client.get("/u/nobody/deep-learning.svg").status_code == 404


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("ab", "3 to 30 characters"),
        ("-ada", "single hyphens"),
        ("ada--l", "single hyphens"),
        ("ada l", "single hyphens"),
        ("admin", "“admin” is reserved"),
        ("Stepwise", "“stepwise” is reserved"),
        ("TAKEN", "“taken” is taken"),
    ],
)
def test_handles_are_checked_with_clear_errors(client, handle, message):
    public_profile_update(user=UserFactory(), handle="taken", is_public=True, track_ids=[])
    learner = UserFactory()
    client.force_login(learner)

    response = _settings(client, handle=handle, is_public="on")

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PublicProfile.objects.filter(user=learner).exists()


def test_a_learner_cannot_show_a_track_they_do_not_follow_or_touch_anothers_settings(client):
    learner, _shown, _ = _learner_with_tracks()
    other = UserFactory()
    public_profile_update(user=other, handle="other", is_public=True, track_ids=[])
    stranger_track = TrackFactory(title="Not mine")
    client.force_login(learner)

    response = _settings(client, handle="ada", is_public="on", tracks=[stranger_track.pk])
    assert response.status_code == 400
    # Taking another learner's handle is refused; their settings stay as they were.
    response = _settings(client, handle="other", is_public="on")
    assert response.status_code == 400
    other_profile = PublicProfile.objects.get(user=other)
    assert other_profile.handle == "other" and other_profile.is_public


def test_settings_need_a_sign_in_and_a_csrf_token(client):
    assert client.get(reverse("learning:public-settings")).status_code == 302
    learner, _shown, _ = _learner_with_tracks()
    strict = client.__class__(enforce_csrf_checks=True)
    strict.force_login(learner)
    response = strict.post(
        reverse("learning:public-settings"), {"handle": "ada", "is_public": "on"}
    )
    assert response.status_code == 403
    assert not PublicProfile.objects.exists()


def test_public_page_and_badge_query_budgets(client, django_assert_num_queries):
    learner, shown, hidden = _learner_with_tracks()
    public_profile_update(
        user=learner, handle="ada", is_public=True, track_ids=[shown.pk, hidden.pk]
    )
    client.get("/u/ada/")  # rendered once, then kept by its version
    # 1 the settings with the learner and the versions of what the page shows, 2 the
    # tracks chosen; the page itself comes rendered from the cache
    with django_assert_num_queries(2):
        assert client.get("/u/ada/").status_code == 200
    # 1 the badge's settings, track and versions; 2 the learner's completion of the track
    with django_assert_num_queries(2):
        etag = client.get("/u/ada/deep-learning.svg")["ETag"]
    # 1: an unchanged badge is answered 304 without reading the completion
    with django_assert_num_queries(1):
        assert client.get("/u/ada/deep-learning.svg", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_handle_taken_between_the_check_and_the_save_is_refused_not_a_500(monkeypatch):
    from django.core.exceptions import ValidationError

    from apps.learning import public

    first, second = UserFactory(), UserFactory()
    public_profile_update(user=first, handle="race", is_public=True, track_ids=[])
    # The second learner's check ran before the first saved: only the index sees it.
    monkeypatch.setattr(public, "handle_validate", lambda *, handle, user: handle)
    with pytest.raises(ValidationError, match="is taken"):
        public_profile_update(user=second, handle="race", is_public=True, track_ids=[])
    assert not PublicProfile.objects.filter(user=second).exists()


def test_an_admin_can_turn_a_public_page_off_but_not_edit_it(admin_client, client):
    learner, shown, _ = _learner_with_tracks()
    profile = public_profile_update(
        user=learner, handle="rude-name", is_public=True, track_ids=[shown.pk]
    )
    changelist = reverse("admin:learning_publicprofile_changelist")
    assert "rude-name" in admin_client.get(changelist).content.decode()

    admin_client.post(changelist, {"action": "turn_off", "_selected_action": [profile.pk]})

    assert client.get("/u/rude-name/").status_code == 404
    response = admin_client.post(
        reverse("admin:learning_publicprofile_change", args=[profile.pk]),
        {"handle": "renamed", "is_public": "on"},
    )
    assert response.status_code == 403
    assert PublicProfile.objects.get(pk=profile.pk).handle == "rude-name"


def test_a_page_shows_a_bounded_number_of_tracks(client, settings):
    settings.STEPWISE_PUBLIC_PAGE_TRACKS = 1
    learner, shown, hidden = _learner_with_tracks()
    client.force_login(learner)
    response = _settings(client, handle="ada", is_public="on", tracks=[shown.pk, hidden.pk])
    assert response.status_code == 400
    assert "Choose at most 1 tracks" in response.content.decode()


def test_a_cold_public_page_costs_five_queries_per_track_shown(client):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    learner, shown, hidden = _learner_with_tracks()
    counts = []
    for tracks in ([shown.pk], [shown.pk, hidden.pk]):
        public_profile_update(user=learner, handle="ada", is_public=True, track_ids=tracks)
        caches["default"].clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/u/ada/").status_code == 200
        counts.append(len(queries))
    # Per track shown: the learner's statuses on it, its steps, their prerequisites
    # (steps, groups) and resources. The rest (the settings, the learner's dashboard
    # data) does not grow; the tracks shown are at most STEPWISE_PUBLIC_PAGE_TRACKS.
    assert counts[1] - counts[0] == 5


def test_head_requests_are_answered_as_gets(client):
    learner, shown, _ = _learner_with_tracks()
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[shown.pk])
    assert client.head("/u/ada/").status_code == 200
    assert client.head("/u/ada/deep-learning.svg")["ETag"]
    assert client.post("/u/ada/").status_code == 405
