import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.content.admin_forms import resource_form_data, step_form_data
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_visitor_home_explains_stepwise_and_lists_tracks(client):
    TrackFactory(title="Generative AI builder")
    TrackFactory(title="Hidden draft", is_published=False)

    html = client.get("/").content.decode()

    assert "Follow a roadmap" in html
    assert "Generative AI builder" in html
    assert "Hidden draft" not in html


def test_signed_in_home_is_the_dashboard(client, learner):
    client.force_login(learner)
    html = client.get("/").content.decode()
    assert "Pick your first track" in html


def test_catalog_shows_level_goal_steps_time_and_learners(client, learner):
    track = TrackFactory(title="Deep learning", level="intermediate", goal="Train networks")
    for _ in range(3):
        StepFactory(track=track, estimated_minutes=90)
    step_status_set(user=learner, step=track.steps.first(), status=Status.DONE)

    html = client.get(reverse("learning:catalog")).content.decode()

    assert "Deep learning" in html
    assert "Intermediate" in html and "Train networks" in html
    assert "3 steps" in html and "4 h 30 min" in html and "1 learner" in html


def test_catalog_filters_by_level_goal_and_title(client):
    TrackFactory(title="Deep learning", level="intermediate", goal="Train networks")
    TrackFactory(title="LLM apps", level="beginner", goal="Build with LLMs")
    url = reverse("learning:catalog")

    assert "LLM apps" not in client.get(url, {"level": "intermediate"}).content.decode()
    by_goal = client.get(url, {"goal": "Build with LLMs"}).content.decode()
    assert "LLM apps" in by_goal and "Deep learning" not in by_goal
    by_title = client.get(url, {"q": "deep"}).content.decode()
    assert "Deep learning" in by_title and "LLM apps" not in by_title


def test_catalog_ignores_unknown_filters_with_a_message(client):
    TrackFactory(title="Deep learning")
    response = client.get(reverse("learning:catalog"), {"level": "wizard"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "were not understood" in html
    assert "Deep learning" in html


def test_track_page_lists_steps_prerequisites_and_resources(client):
    track = TrackFactory(title="ML foundations")
    first = StepFactory(
        track=track,
        title="Linear algebra",
        position=1,
        description="Read **chapter 2**.<script>alert(1)</script>",
    )
    second = StepFactory(track=track, title="Calculus", position=2)
    second.prerequisites.add(first)
    StepResourceFactory(
        step=first,
        resource=ResourceFactory(
            title="Mathematics for ML",
            kind="book",
            provider="Cambridge",
            cost="free",
            duration="400 pages",
        ),
    )

    html = client.get(reverse("learning:track", args=[track.slug])).content.decode()

    assert html.index("Linear algebra") < html.index("Calculus")
    assert "<strong>chapter 2</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'after <a href="#step-' in html
    assert "Mathematics for ML" in html and "Cambridge" in html and "400 pages" in html
    assert 'rel="noopener noreferrer"' in html
    assert "Sign up" in html  # visitors are invited to track their progress


def test_track_page_shows_the_learners_status_and_waiting_prerequisites(client, learner):
    track = TrackFactory()
    first = StepFactory(track=track, title="First", position=1)
    second = StepFactory(track=track, title="Second", position=2)
    second.prerequisites.add(first)
    step_status_set(user=learner, step=second, status=Status.IN_PROGRESS)
    client.force_login(learner)

    html = client.get(reverse("learning:track", args=[track.slug])).content.decode()

    assert 'class="status status-in_progress">In progress' in html
    assert "Waiting on “First”" in html
    assert "<strong>0%</strong> complete · 0 of 2 required steps done" in html


def test_unknown_and_unpublished_tracks_are_404_with_the_sites_page(client):
    draft = TrackFactory(is_published=False)
    for slug in ("nope", draft.slug):
        response = client.get(reverse("learning:track", args=[slug]))
        assert response.status_code == 404
        assert "We could not find that page" in response.content.decode()


def _fill(tracks: int, steps: int, learner) -> str:
    slug = ""
    for _ in range(tracks):
        track = TrackFactory()
        slug = track.slug
        made = [StepFactory(track=track, position=i) for i in range(steps)]
        for i, step in enumerate(made):
            StepResourceFactory(step=step)
            if i:
                step.prerequisites.add(made[i - 1])
        step_status_set(user=learner, step=made[0], status=Status.DONE)
    return slug


@pytest.mark.parametrize(("tracks", "steps"), [(1, 3), (10, 30)])
def test_catalog_query_budget(client, learner, django_assert_num_queries, tracks, steps):
    _fill(tracks, steps, learner)
    client.force_login(learner)
    # 1 session, 2 user, 3 goals for the filter, 4 tracks with their annotated figures
    with django_assert_num_queries(4):
        client.get(reverse("learning:catalog"), {"level": "beginner"})


@pytest.mark.parametrize(("tracks", "steps"), [(1, 3), (10, 30)])
def test_track_page_query_budget(client, learner, django_assert_num_queries, tracks, steps):
    slug = _fill(tracks, steps, learner)
    client.force_login(learner)
    # 1 session, 2 user, 3 the versions of what the page shows (and whether curators
    # changed the track since the learner was last told), 4 the track with its figures;
    # the progress and step list: 5 the learner's statuses and completion, 6 steps with
    # their choice groups, 7 prerequisites, 8 prerequisite groups, 9 resource links with
    # their health, 10 the learner's notes and steps done elsewhere, 11 their pace
    with django_assert_num_queries(11):
        client.get(reverse("learning:track", args=[slug]))
    # Again, nothing changed: the progress and the step list come rendered from the cache.
    with django_assert_num_queries(3):
        client.get(reverse("learning:track", args=[slug]))


@pytest.mark.parametrize(("tracks", "steps"), [(1, 3), (10, 30)])
def test_visitor_home_query_budget(client, learner, django_assert_num_queries, tracks, steps):
    _fill(tracks, steps, learner)
    # 1 tracks with their figures
    with django_assert_num_queries(1):
        client.get("/")


def test_track_page_marks_broken_links_and_offers_a_report(client, learner):
    from apps.linkhealth.models import ResourceHealth
    from apps.linkhealth.outcomes import Outcome

    step = StepFactory()
    broken = StepResourceFactory(step=step, resource__title="Old course page").resource
    fine = StepResourceFactory(step=step, resource__title="Fine page").resource
    ResourceHealth.objects.create(resource=broken, health=Outcome.BROKEN)
    client.force_login(learner)

    html = client.get(reverse("learning:track", args=[step.track.slug])).content.decode()

    assert html.count("this link may be broken") == 1
    assert html.index("Old course page") < html.index("this link may be broken")
    assert reverse("linkhealth:report", args=[fine.pk]) in html


def test_track_page_shows_a_curators_edit_at_once(staff_client, learner):
    step = StepFactory(title="Old title", description="Old words.")
    link = StepResourceFactory(step=step, resource__title="Old resource", note="Old note")
    learner_client = Client()
    learner_client.force_login(learner)
    url = reverse("learning:track", args=[step.track.slug])
    assert "Old title" in learner_client.get(url).content.decode()

    # A curator edits the step, its link's note and the resource in the admin.
    step_edit = step_form_data(
        step,
        title="New title",
        description="New words.",
        **{
            "step_resources-TOTAL_FORMS": 1,
            "step_resources-INITIAL_FORMS": 1,
            "step_resources-0-id": link.pk,
            "step_resources-0-step": step.pk,
            "step_resources-0-position": link.position,
            "step_resources-0-resource": link.resource_id,
            "step_resources-0-note": "New note",
        },
    )
    resource = link.resource
    resource_edit = resource_form_data(resource, title="New resource")
    for change, data in [
        (reverse("admin:content_step_change", args=[step.pk]), step_edit),
        (reverse("admin:content_resource_change", args=[resource.pk]), resource_edit),
    ]:
        assert staff_client.post(change, data).status_code == 302

    html = learner_client.get(url).content.decode()
    assert "New title" in html and "New words." in html
    assert "New resource" in html and "New note" in html
    assert "Old" not in html


def test_the_cached_step_list_follows_statuses_link_health_and_the_learner(client, learner):
    from apps.linkhealth.models import ResourceHealth
    from apps.linkhealth.outcomes import Outcome

    # Given: a track page seen once, so its step list is cached.
    shell = StepFactory(key="shell", title="Shell")
    git = StepFactory(track=shell.track, key="git", title="Git", position=9)
    git.prerequisites.add(shell)
    resource = StepResourceFactory(step=git).resource
    url = reverse("learning:track", args=[shell.track.slug])
    client.force_login(learner)
    assert "Waiting on “Shell”" in client.get(url).content.decode()

    # When the learner's status changes elsewhere (another device, the API)...
    step_status_set(user=learner, step=shell, status="done")
    html = client.get(url).content.decode()
    assert "Waiting on" not in html
    assert 'class="status status-done"' in html
    assert "1 of 2 required steps done" in html

    # ...or a link is found broken, the page shows it; and when it works again, not.
    ResourceHealth.objects.create(resource=resource, health=Outcome.BROKEN)
    assert "this link may be broken" in client.get(url).content.decode()
    ResourceHealth.objects.filter(resource=resource).update(
        health=Outcome.OK, health_changed_at=timezone.now()
    )
    assert "this link may be broken" not in client.get(url).content.decode()

    # Another learner with the same statuses sees their own forms.
    other = UserFactory()
    step_status_set(user=other, step=shell, status="done")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(other)
    page = strict.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status_url = reverse("learning:step-status", args=[shell.track.slug, "git"])
    response = strict.post(status_url, {"status": "done", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
