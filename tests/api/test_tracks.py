"""GET tracks/ and tracks/{slug}/: paging, filters, inline steps, statuses, ETags, budgets."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.content.models import Track
from apps.learning.selectors import track_detail_version
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.api.conftest import build_track
from tests.content.admin_forms import resource_form_data, step_form_data
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


def test_list_shows_published_tracks_in_curated_order(anon):
    TrackFactory(slug="second", position=2)
    TrackFactory(slug="first", position=1)
    TrackFactory(slug="draft", position=0, is_published=False)

    body = anon.get("tracks/").json()

    assert [t["slug"] for t in body["results"]] == ["first", "second"]
    assert body["next"] is None


def test_list_pages_with_a_cursor(anon, settings):
    settings.API_TRACKS_PAGE_SIZE = 2
    for n in range(5):
        TrackFactory(slug=f"t{n}", position=n)

    seen, url = [], "tracks/"
    while url:
        body = anon.get(url).json()
        seen += [t["slug"] for t in body["results"]]
        url = body["next"] and body["next"].split("testserver", 1)[1]

    assert seen == ["t0", "t1", "t2", "t3", "t4"]


def test_list_filters_by_level_goal_and_search(anon):
    TrackFactory(slug="a", title="Transformers", level=Track.Level.ADVANCED, goal="Research")
    TrackFactory(slug="b", title="Python first", level=Track.Level.BEGINNER, goal="Research")
    TrackFactory(slug="c", title="Transformers lite", level=Track.Level.BEGINNER, goal="Build")

    def slugs(**query):
        return [t["slug"] for t in anon.get("tracks/", query).json()["results"]]

    assert slugs(level="beginner") == ["b", "c"]
    assert slugs(goal="Research") == ["a", "b"]
    assert slugs(search="transformers") == ["a", "c"]
    assert slugs(search="transformers", level="beginner") == ["c"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"level": "guru"}, "level"),
        ({"search": "x" * 500}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "cD1hYmM="}, "cursor"),  # base64 of "p=abc": a tampered position
    ],
)
def test_list_refuses_bad_query_parameters_with_400(anon, query, field):
    TrackFactory()

    response = anon.get("tracks/", query)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


def test_list_is_two_queries_for_an_anonymous_visitor(anon, django_assert_num_queries):
    for n in range(30):
        build_track(steps=3, slug=f"t{n}")
    # 1 the page of tracks with step count, minutes and learner count as subqueries
    with django_assert_num_queries(1):
        response = anon.get("tracks/")
    assert response.status_code == 200


def test_detail_has_ordered_steps_with_prerequisites_and_resources(anon, track):
    body = anon.get("tracks/llm-basics/").json()

    assert [s["key"] for s in body["steps"]] == ["s0", "s1", "s2", "s3"]
    assert body["steps"][1]["prerequisites"] == [
        {"id": body["steps"][0]["id"], "key": "s0", "title": body["steps"][0]["title"]}
    ]
    assert sum(len(s["resources"]) for s in body["steps"]) == 6
    assert {"url", "title", "kind", "cost", "note"} <= body["steps"][0]["resources"][0].keys()
    # Anonymous: no statuses, no progress.
    assert {s["status"] for s in body["steps"]} == {None}
    assert body["progress"] is None


def test_detail_shows_the_learners_statuses_and_progress(alice, track):
    steps = list(track.steps.order_by("position"))
    step_status_set(user=alice.user, step=steps[0], status=Status.DONE)
    step_status_set(user=alice.user, step=steps[1], status=Status.IN_PROGRESS)

    body = alice.get("tracks/llm-basics/").json()

    assert [s["status"] for s in body["steps"]] == ["done", "in_progress", "todo", "todo"]
    assert body["progress"]["percent"] == 25
    assert body["progress"]["steps_done"] == 1
    assert body["progress"]["in_progress"] == 1
    assert body["progress"]["remaining_minutes"] == 180


def test_detail_of_unknown_or_unpublished_track_is_404(alice):
    TrackFactory(slug="draft", is_published=False)

    for slug in ("nope", "draft"):
        response = alice.get(f"tracks/{slug}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_detail_answers_if_none_match_with_304_until_something_changes(alice, track):
    first = alice.get("tracks/llm-basics/")
    etag = first["ETag"]

    again = alice.get("tracks/llm-basics/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    # The learner's own progress is part of the answer: a change gives a new tag.
    step_status_set(user=alice.user, step=track.steps.first(), status=Status.DONE)
    changed = alice.get("tracks/llm-basics/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_list_answers_if_none_match_with_304(anon, track):
    etag = anon.get("tracks/")["ETag"]
    assert anon.get("tracks/", headers={"If-None-Match": etag}).status_code == 304
    assert anon.get("tracks/", headers={"If-None-Match": '"other"'}).status_code == 200


def test_weak_form_of_the_tag_and_star_also_answer_304(anon, track):
    # Compression makes a proxy (or GZipMiddleware) hand the tag on as W/"...".
    etag = anon.get("tracks/llm-basics/")["ETag"]

    for sent in (f"W/{etag}", f'"other", {etag}', "*"):
        again = anon.get("tracks/llm-basics/", headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again["ETag"] == etag
        assert again["Cache-Control"] == "private, no-cache"


def test_a_failed_if_match_answers_412_in_the_error_shape(anon, track):
    response = anon.get("tracks/llm-basics/", headers={"If-Match": '"other"'})

    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"


def test_detail_of_a_big_track_is_a_fixed_number_of_queries(alice, django_assert_num_queries):
    build_track(steps=60, resources=200, slug="big")
    step_status_set(
        user=alice.user, step=Track.objects.get(slug="big").steps.first(), status=Status.DONE
    )
    # 1-2 the session behind the X-Session-Token (exists, load); 3 the user;
    # 4 the version of the answer (track, content revision, learners, last event);
    # 5 the track with its annotated counts; 6 steps with their choice groups;
    # 7 prerequisites; 8 prerequisite groups; 9 step resources with their resources;
    # 10 the learner's statuses (completion is worked out from them)
    with django_assert_num_queries(10):
        response = alice.get("tracks/big/")
    body = response.json()
    assert len(body["steps"]) == 60
    assert sum(len(s["resources"]) for s in body["steps"]) == 200
    assert body["progress"]["steps_done"] == 1


def test_later_requests_reuse_the_serialized_steps(alice, django_assert_num_queries):
    build_track(steps=60, resources=200, slug="big")
    first = alice.get("tracks/big/").json()
    # The learner's answer goes, the steps stay: it is built again from them.
    version = track_detail_version(slug="big", learner_id=alice.user.pk)
    cache.delete(version.cache_key(alice.user.pk))

    # 1-2 session, 3 user, 4 version, 5 track (its content revision included),
    # 6 statuses: steps, prerequisites and resources come from the cache.
    with django_assert_num_queries(6):
        second = alice.get("tracks/big/").json()

    assert second == first


def test_an_unchanged_answer_is_served_again_after_one_query(alice, django_assert_num_queries):
    build_track(steps=60, resources=200, slug="big")
    first = alice.get("tracks/big/")

    # 1-2 session, 3 user, 4 the version of the answer: unchanged, it is served again.
    with django_assert_num_queries(4):
        second = alice.get("tracks/big/")

    assert (second.content, second["ETag"]) == (first.content, first["ETag"])


def test_every_change_to_an_answer_is_seen_at_once(alice, bob, track, django_assert_num_queries):
    steps = list(track.steps.order_by("position"))
    seen = alice.get("tracks/llm-basics/").json()
    assert bob.get("tracks/llm-basics/").json()["learner_count"] == 0

    # Alice's own change, from any device; then one that leaves the status as it was.
    step_status_set(user=alice.user, step=steps[0], status=Status.DONE)
    now = alice.get("tracks/llm-basics/").json()
    assert [s["status"] for s in now["steps"]][:1] == ["done"]
    assert now["progress"]["steps_done"] == seen["progress"]["steps_done"] + 1
    assert now["learner_count"] == 1

    # Another learner joins: everyone's count moves; their statuses stay their own.
    step_status_set(user=bob.user, step=steps[1], status=Status.IN_PROGRESS)
    assert alice.get("tracks/llm-basics/").json()["learner_count"] == 2
    theirs = bob.get("tracks/llm-basics/").json()
    assert [s["status"] for s in theirs["steps"]][:2] == ["todo", "in_progress"]

    # The track is unpublished: gone at once, whatever was served before.
    Track.objects.filter(pk=track.pk).update(is_published=False)
    assert alice.get("tracks/llm-basics/").status_code == 404


def test_a_visitor_never_gets_a_learners_answer(alice, anon, track):
    step_status_set(user=alice.user, step=track.steps.first(), status=Status.DONE)
    alice.get("tracks/llm-basics/")

    body = anon.get("tracks/llm-basics/").json()

    assert body["progress"] is None
    assert {s["status"] for s in body["steps"]} == {None}


def test_a_content_edit_is_seen_at_once(alice, staff_client):
    from apps.content.models import Resource, Step

    build_track(steps=3, resources=3, slug="small")
    alice.get("tracks/small/")
    step = Step.objects.filter(track__slug="small").first()
    resource = Resource.objects.filter(steps__track__slug="small").first()

    # A curator renames the step and the resource in the admin.
    prerequisites = list(step.prerequisites.values_list("pk", flat=True))
    for change, data in [
        (
            reverse("admin:content_step_change", args=[step.pk]),
            step_form_data(step, title="Renamed by a curator", prerequisites=prerequisites),
        ),
        (
            reverse("admin:content_resource_change", args=[resource.pk]),
            resource_form_data(resource, title="New resource title"),
        ),
    ]:
        assert staff_client.post(change, data).status_code == 302

    body = alice.get("tracks/small/").json()

    assert body["steps"][0]["title"] == "Renamed by a curator"
    titles = {r["title"] for s in body["steps"] for r in s["resources"]}
    assert "New resource title" in titles
