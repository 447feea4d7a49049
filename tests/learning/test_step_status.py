from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.progress.models import Enrollment, ProgressEvent, Status, StepProgress
from apps.progress.services import step_status_set
from tests.factories import StepFactory, StepResourceFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(step) -> str:
    return reverse("learning:step-status", args=[step.track.slug, step.key])


@pytest.fixture
def step():
    track = TrackFactory()
    StepFactory(track=track, position=2)
    return StepFactory(track=track, position=1, title="Learn Python")


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.DONE, Status.SKIPPED])
def test_plain_post_sets_status_enrolls_and_redirects_to_the_step(client, learner, step, status):
    client.force_login(learner)

    response = client.post(_url(step), {"status": status})

    assert response.status_code == 302
    assert response.url == f"/tracks/{step.track.slug}/#step-{step.key}"
    assert StepProgress.objects.get(user=learner, step=step).status == status
    assert Enrollment.objects.filter(user=learner, track=step.track).exists()
    assert ProgressEvent.objects.get().source == "web"


def test_back_to_todo(client, learner, step):
    step_status_set(user=learner, step=step, status=Status.DONE)
    client.force_login(learner)

    client.post(_url(step), {"status": Status.TODO})

    assert StepProgress.objects.get().status == Status.TODO


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.DONE, Status.SKIPPED, Status.TODO])
def test_htmx_post_returns_the_step_and_the_progress_bar(client, learner, step, status):
    if status == Status.TODO:
        step_status_set(user=learner, step=step, status=Status.DONE)
    client.force_login(learner)

    response = client.post(_url(step), {"status": status}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="step-{step.key}"' in html
    assert f"status status-{status}" in html
    assert 'id="track-progress" class="progress-summary" hx-swap-oob="true"' in html
    # Two required steps: one done is 50 %; a skipped one leaves 0 of 1 done.
    expected = 50 if status == Status.DONE else 0
    assert f"<strong>{expected}%</strong>" in html
    assert "<html" not in html


def test_unknown_status_changes_nothing_and_says_why(client, learner, step):
    client.force_login(learner)

    plain = client.post(_url(step), {"status": "finished"}, follow=True)
    assert "“finished” is not a step status" in plain.content.decode()

    htmx = client.post(_url(step), {"status": "finished"}, **HTMX)
    assert htmx.status_code == 400
    assert "is not a step status" in htmx.content.decode()

    missing = client.post(_url(step), {}, follow=True)
    assert "Choose a status for the step." in missing.content.decode()
    assert not StepProgress.objects.exists()
    assert not Enrollment.objects.exists()


def test_unknown_step_or_track_is_404(client, learner, step):
    client.force_login(learner)
    bad_step = reverse("learning:step-status", args=[step.track.slug, "nope"])
    bad_track = reverse("learning:step-status", args=["nope", step.key])
    other_track = reverse("learning:step-status", args=[TrackFactory().slug, step.key])
    for url in (bad_step, bad_track, other_track):
        response = client.post(url, {"status": "done"})
        assert response.status_code == 404
        assert "We could not find that page" in response.content.decode()
    assert not StepProgress.objects.exists()


def test_unpublished_track_cannot_be_marked(client, learner):
    step = StepFactory(track__is_published=False)
    client.force_login(learner)
    assert client.post(_url(step), {"status": "done"}).status_code == 404


def test_anonymous_post_goes_to_login_and_changes_nothing(client, step):
    response = client.post(_url(step), {"status": "done"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))

    htmx = client.post(_url(step), {"status": "done"}, **HTMX)
    assert htmx.headers["HX-Redirect"].startswith(reverse("account_login"))
    assert not StepProgress.objects.exists()


def test_post_without_csrf_token_is_refused(learner, step):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    response = strict.post(_url(step), {"status": "done"})
    assert response.status_code == 403
    assert not StepProgress.objects.exists()


def test_get_is_not_allowed(client, learner, step):
    client.force_login(learner)
    assert client.get(_url(step)).status_code == 405


def test_learners_only_change_their_own_progress(client, learner, step):
    other = UserFactory()
    step_status_set(user=other, step=step, status=Status.DONE)
    client.force_login(learner)

    client.post(_url(step), {"status": Status.SKIPPED, "user": other.pk})

    assert StepProgress.objects.get(user=other).status == Status.DONE
    assert StepProgress.objects.get(user=learner).status == Status.SKIPPED


def test_dashboard_requires_login(client):
    response = client.get(reverse("learning:dashboard"))
    assert response.status_code == 302


def test_new_learner_gets_a_friendly_empty_dashboard(client, learner):
    client.force_login(learner)
    html = client.get(reverse("learning:dashboard")).content.decode()
    assert "Pick your first track" in html
    assert reverse("learning:catalog") in html


def test_dashboard_shows_progress_next_step_streak_chart_and_recent(client, learner, step):
    track = step.track
    nxt = track.steps.exclude(pk=step.pk).get()
    step_status_set(
        user=learner, step=step, status=Status.DONE, occurred_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(learner)

    html = client.get(reverse("learning:dashboard")).content.decode()

    assert track.title in html
    assert "<strong>50%</strong> complete · 1 of 2 required steps done" in html
    assert f"#step-{nxt.key}" in html and nxt.title in html
    assert "1 h left" in html
    assert "day current streak" in html
    assert "Mark a step today to keep your 1-day streak going." in html
    assert "<svg" in html and "1 progress change on 1 day" in html
    assert "Learn Python" in html  # recently completed


def _fill(learner, tracks: int, steps: int) -> None:
    for _ in range(tracks):
        track = TrackFactory()
        made = [StepFactory(track=track, position=i) for i in range(steps)]
        for i, s in enumerate(made):
            StepResourceFactory(step=s)
            if i:
                s.prerequisites.add(made[i - 1])
        step_status_set(user=learner, step=made[0], status=Status.DONE)
        step_status_set(user=learner, step=made[1], status=Status.IN_PROGRESS)


@pytest.mark.parametrize(("tracks", "steps"), [(1, 3), (10, 30)])
def test_dashboard_query_budget(client, learner, django_assert_num_queries, tracks, steps):
    _fill(learner, tracks, steps)
    client.force_login(learner)
    # 1 session, 2 user, 3 the version of the learner's dashboard (last event,
    # enrollments, content revision), then learner_dashboard: 4 enrollments+tracks,
    # 5 completion, 6 steps, 7 prerequisite edges, 8 finished steps, 9 activity per day,
    # 10 recent; 11 the steps done elsewhere (done_elsewhere_for); 12 their pace,
    # 13 their week against their weekly goal; 14 what changed on their tracks since
    # their last visit (never cached)
    with django_assert_num_queries(14):
        response = client.get(reverse("learning:dashboard"))
    assert response.content.decode().count('class="card enrollment"') == tracks
    # Again, nothing changed: the dashboard's data and what changed come from the cache.
    with django_assert_num_queries(3):
        again = client.get(reverse("learning:dashboard"))
    assert again.content.decode().count('class="card enrollment"') == tracks


def _track_with_dependents(steps: int, dependents: int):
    """A track of ``steps`` steps with a resource each; its first step is a prerequisite
    of the next ``dependents`` steps, each of which also waits on the last step."""
    track = TrackFactory()
    made = [StepFactory(track=track, position=i) for i in range(steps)]
    for s in made:
        StepResourceFactory(step=s)
    for dependent in made[1 : dependents + 1]:
        dependent.prerequisites.add(made[0], made[-1])
    return made


@pytest.mark.postgres
@pytest.mark.parametrize(("steps", "dependents"), [(3, 1), (40, 10), (40, 30)])
def test_status_change_query_budget(client, learner, django_assert_num_queries, steps, dependents):
    made = _track_with_dependents(steps, dependents)
    _fill(learner, 2, 10)
    client.force_login(learner)
    # 1 session, 2 user, 3 the step with its track and content revision,
    # 4 step_status_set: the learner's lock, progress row, event and enrollment in one
    # statement; the fragment: 5 prerequisite edges of the step and of its dependents
    # with the learner's statuses, 6 the choice groups those steps require, with the
    # learner's counts in each, 7 their resource links with link health,
    # 8 completion of the track
    with django_assert_num_queries(8):
        response = client.post(_url(made[0]), {"status": "done"}, **HTMX)
    # The progress bar and every dependent, out of band.
    assert response.content.decode().count('hx-swap-oob="true"') == 1 + dependents
    with django_assert_num_queries(8):
        client.post(_url(made[0]), {"status": "todo"}, **HTMX)


def _notice(html: str, key: str) -> str | None:
    """The "Waiting on" notice inside the row of step ``key`` in ``html``, if any."""
    start = html.find(f'id="step-{key}"')
    if start < 0:
        return None
    row = html[start : html.find("</li>", start)]
    at = row.find('<p class="notice">')
    return row[at : row.find("</p>", at)] if at >= 0 else ""


def test_marking_a_prerequisite_updates_the_dependents_notice_in_place(client, learner):
    # Given: "Git" waits on "Shell" and "Editor"; "Docs" waits on "Shell" only.
    track = TrackFactory()
    shell = StepFactory(track=track, position=1, key="shell", title="Shell")
    editor = StepFactory(track=track, position=2, key="editor", title="Editor")
    git = StepFactory(track=track, position=3, key="git", title="Git")
    docs = StepFactory(track=track, position=4, key="docs", title="Docs")
    StepFactory(track=track, position=5, key="other", title="Other")
    git.prerequisites.add(shell, editor)
    docs.prerequisites.add(shell)
    client.force_login(learner)

    # When: Shell is marked done.
    html = client.post(_url(shell), {"status": Status.DONE}, **HTMX).content.decode()

    # Then: both dependents come back out of band, Shell gone from their notices.
    assert 'id="step-git" hx-swap-oob="true"' in html
    assert 'id="step-docs" hx-swap-oob="true"' in html
    assert (
        _notice(html, "git")
        == '<p class="notice">Waiting on “Editor”. You can still mark this step.'
    )
    assert _notice(html, "docs") == ""
    assert 'id="step-other"' not in html  # not a dependent: not sent
    assert 'id="step-shell" hx-swap-oob' not in html  # the step itself is the target

    # When: Shell goes back to to do, the notices come back.
    html = client.post(_url(shell), {"status": Status.TODO}, **HTMX).content.decode()
    assert _notice(html, "git") == (
        '<p class="notice">Waiting on “Shell”, “Editor”. You can still mark this step.'
    )
    assert (
        _notice(html, "docs")
        == '<p class="notice">Waiting on “Shell”. You can still mark this step.'
    )

    # A page load agrees with what was swapped in.
    page = client.get(reverse("learning:track", args=[track.slug])).content.decode()
    assert (
        _notice(page, "docs")
        == '<p class="notice">Waiting on “Shell”. You can still mark this step.'
    )


@pytest.fixture
def shell_then_git():
    """Two steps of a track: "Git" has "Shell" as its prerequisite."""
    track = TrackFactory()
    shell = StepFactory(track=track, position=1, key="shell", title="Shell")
    git = StepFactory(track=track, position=2, key="git", title="Git")
    git.prerequisites.add(shell)
    return shell, git


def test_a_change_that_keeps_a_prerequisite_unfinished_sends_no_dependents(
    client, learner, shell_then_git
):
    shell, _ = shell_then_git
    client.force_login(learner)

    html = client.post(_url(shell), {"status": Status.IN_PROGRESS}, **HTMX).content.decode()

    assert 'id="step-git"' not in html
    assert "status status-in_progress" in html


def test_a_done_dependent_shows_no_notice_and_is_not_sent(client, learner, shell_then_git):
    shell, git = shell_then_git
    step_status_set(user=learner, step=git, status=Status.DONE)
    client.force_login(learner)

    html = client.post(_url(shell), {"status": Status.DONE}, **HTMX).content.decode()

    assert 'id="step-git"' not in html


def test_the_marked_steps_own_notice_follows_its_prerequisites(client, learner, shell_then_git):
    shell, git = shell_then_git
    client.force_login(learner)

    html = client.post(_url(git), {"status": Status.IN_PROGRESS}, **HTMX).content.decode()
    assert (
        _notice(html, "git")
        == '<p class="notice">Waiting on “Shell”. You can still mark this step.'
    )
    assert '<a href="#step-shell">Shell</a>' in html

    step_status_set(user=learner, step=shell, status=Status.SKIPPED)
    html = client.post(_url(git), {"status": Status.TODO}, **HTMX).content.decode()
    assert _notice(html, "git") == ""


def test_plain_post_still_redirects_with_dependents(client, learner, shell_then_git):
    shell, _ = shell_then_git
    track = shell.track
    client.force_login(learner)

    response = client.post(_url(shell), {"status": Status.DONE})

    assert response.status_code == 302
    assert response.url == f"/tracks/{track.slug}/#step-shell"
    page = client.get(response.url).content.decode()
    assert _notice(page, "git") == ""


def test_too_many_changes_in_a_minute_are_refused_and_change_nothing(
    client, learner, step, settings
):
    settings.STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE = 3
    client.force_login(learner)
    for status in (Status.IN_PROGRESS, Status.DONE, Status.SKIPPED):
        client.post(_url(step), {"status": status})

    plain = client.post(_url(step), {"status": Status.TODO}, follow=True)
    htmx = client.post(_url(step), {"status": Status.TODO}, **HTMX)

    assert "wait a moment and try again" in plain.content.decode()
    assert htmx.status_code == 429
    assert htmx["Retry-After"] == "60"
    assert "wait a moment and try again" in htmx.content.decode()
    assert StepProgress.objects.get(user=learner).status == Status.SKIPPED
    assert ProgressEvent.objects.filter(user=learner).count() == 3


def test_the_dashboards_cached_cards_and_chart_follow_each_change(client, learner, step):
    # Given: a dashboard seen once, so its cards and chart are cached.
    step_status_set(user=learner, step=step, status=Status.IN_PROGRESS)
    client.force_login(learner)
    html = client.get(reverse("learning:dashboard")).content.decode()
    assert "0 of 2 required steps done" in html and "1 progress change on 1 day" in html

    # When the learner finishes the step, both show it at once.
    step_status_set(user=learner, step=step, status=Status.DONE)
    html = client.get(reverse("learning:dashboard")).content.decode()
    assert "1 of 2 required steps done" in html and "2 progress changes on 1 day" in html


def test_the_cached_dashboard_follows_an_enrollment_without_a_change(client, learner, step):
    from apps.progress.services import track_enroll

    client.force_login(learner)
    assert "Pick your first track" in client.get(reverse("learning:dashboard")).content.decode()

    track_enroll(user=learner, track_id=step.track_id)

    html = client.get(reverse("learning:dashboard")).content.decode()
    assert step.track.title in html and "0 of 2 required steps done" in html
