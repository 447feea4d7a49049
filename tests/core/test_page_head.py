"""What every page's head gives a browser: an icon, a description, and htmx only where
the page's controls use it."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = "js/htmx-2.0.11.min.js"


@pytest.fixture
def track():
    track = TrackFactory(title="Deep learning", summary="Train networks from scratch.")
    StepFactory(track=track)
    return track


def test_every_page_links_an_icon_that_exists_and_says_what_it_is(client, track):
    for url in ("/", reverse("learning:catalog"), reverse("account_login")):
        html = client.get(url).content.decode()

        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html, url
        assert '<meta name="description" content="Stepwise turns curated' in html, url
    for name in ("favicon.svg", "favicon-32.png", "apple-touch-icon.png"):
        assert finders.find(name), name


def test_favicon_ico_at_the_root_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")


def test_a_track_page_is_described_by_its_summary(client, track):
    html = client.get(reverse("learning:track", args=[track.slug])).content.decode()

    assert '<meta name="description" content="Train networks from scratch.">' in html


def test_htmx_is_loaded_only_on_pages_that_use_it(client, track):
    client.force_login(UserFactory())
    step = track.steps.get()
    with_htmx = [
        reverse("learning:track", args=[track.slug]),
        reverse("learning:step-note", args=[track.slug, step.key]),
    ]
    without = [
        "/",
        reverse("learning:catalog"),
        reverse("learning:dashboard"),
        reverse("accounts:profile"),
        reverse("reminders:preferences"),
    ]

    for url in with_htmx:
        assert HTMX in client.get(url).content.decode(), url
    for url in without:
        html = client.get(url).content.decode()
        assert HTMX not in html, url
        assert "hx-" not in html, url
