"""Soft-404 rules, each served locally: hosts and endpoints point at the farm."""

import pytest

from apps.linkhealth.checker import CheckerConfig, CheckResult, Outcome, check_url
from apps.linkhealth.providers import YouTubeRule, coursera_rule, udemy_rule
from tests.linkhealth.farm import Reply

WATCH_PAGE = b"<html><title>YouTube</title><p>This video isn't available anymore</p></html>"


@pytest.fixture
def youtube(farm, link_settings):
    """The farm plays YouTube: watch pages always 200, oEmbed and thumbnails tell the truth."""
    link_settings.LINK_CHECK_YOUTUBE_HOSTS = ["127.0.0.1"]
    link_settings.LINK_CHECK_YOUTUBE_OEMBED_URL = farm.url("/oembed")
    link_settings.LINK_CHECK_YOUTUBE_THUMBNAIL_URL = farm.url("/vi/{video_id}/default.jpg")
    farm.route("/watch", body=WATCH_PAGE)
    videos = {"aliveVideo1": 200, "removedVid1": 404, "privateVid1": 401, "noEmbedVid1": 401}
    thumbnails = {"aliveVideo1": 200, "noEmbedVid1": 200}

    def oembed(method, target):
        video = target.split("v%3D", 1)[1].split("&", 1)[0]
        return Reply(status=videos[video], body=b'{"title": "A video"}')

    farm.routes["/oembed"] = oembed
    for video, status in thumbnails.items():
        farm.route(f"/vi/{video}/default.jpg", status=status)
    return CheckerConfig.from_settings()


@pytest.mark.parametrize(
    "video, outcome",
    [
        ("aliveVideo1", Outcome.OK),
        ("removedVid1", Outcome.BROKEN),
        ("privateVid1", Outcome.BROKEN),
        ("noEmbedVid1", Outcome.OK),  # embedding off, video still there
    ],
)
def test_youtube_watch_page_is_checked_through_oembed(farm, youtube, video, outcome):
    result = check_url(farm.url(f"/watch?v={video}"), youtube)

    assert result.status_code == 200  # the watch page itself always says 200
    assert result.outcome == outcome


def test_oembed_asking_for_a_long_wait_leaves_the_plain_check_standing(farm, youtube):
    # oEmbed says "come back in an hour": the rule cannot tell, the watch page answered.
    farm.routes["/oembed"] = Reply(status=429, headers={"Retry-After": "3600"})

    result = check_url(farm.url("/watch?v=aliveVideo1"), youtube)

    assert (result.outcome, result.retry_after) == (Outcome.OK, None)
    assert farm.hit_count("/oembed") == 1


def test_youtube_rule_finds_the_video_in_every_url_shape():
    rule = YouTubeRule(
        hosts=frozenset({"www.youtube.com", "youtu.be"}), oembed_url="", thumbnail_url=""
    )

    assert rule.video_id("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1") == "dQw4w9WgXcQ"
    assert rule.video_id("https://youtu.be/dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert rule.video_id("https://www.youtube.com/embed/dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert rule.video_id("https://www.youtube.com/shorts/dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert rule.video_id("https://www.youtube.com/@3blue1brown") is None
    assert rule.video_id("https://www.youtube.com/playlist?list=PLZHQ") is None


def test_youtube_rule_leaves_channels_alone(farm, youtube):
    farm.route("/@channel")

    assert check_url(farm.url("/@channel"), youtube).outcome == Outcome.OK
    assert farm.hit_count("/oembed") == 0


@pytest.mark.parametrize(
    "rule_factory, course, catalogue",
    [
        (coursera_rule, "/learn/machine-learning", "/search?query=machine+learning"),
        (coursera_rule, "/specializations/deep-learning", "/courses"),
        (udemy_rule, "/course/python-bootcamp", "/courses/search?q=python"),
    ],
)
def test_course_redirected_to_catalogue_is_broken(farm, config, rule_factory, course, catalogue):
    config = CheckerConfig(**{**config.__dict__, "rules": (rule_factory(["127.0.0.1"]),)})
    farm.route(course.split("?")[0], status=301, headers={"Location": catalogue})
    farm.route(catalogue.split("?")[0])

    result = check_url(farm.url(course), config)

    assert result.outcome == Outcome.BROKEN
    assert result.suggested_url == ""
    assert "course page now redirects" in result.detail


def test_course_moved_to_another_course_page_stays_moved(farm, config):
    config = CheckerConfig(**{**config.__dict__, "rules": (coursera_rule(["127.0.0.1"]),)})
    farm.route("/learn/old-name", status=301, headers={"Location": "/learn/new-name"})
    farm.route("/learn/new-name")

    result = check_url(farm.url("/learn/old-name"), config)

    assert result.outcome == Outcome.MOVED
    assert result.suggested_url == farm.url("/learn/new-name")


def test_catalogue_rule_only_applies_to_its_hosts():
    rule = coursera_rule(["www.coursera.org"])
    redirected = CheckResult(
        url="https://example.org/learn/x",
        outcome=Outcome.OK,
        redirects=1,
        final_url="https://example.org/search",
    )

    assert not rule.applies("https://example.org/learn/x", redirected)
    assert rule.applies("https://www.coursera.org/learn/x", redirected)
