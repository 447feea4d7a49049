"""Catalog search: what a learner types finds a track by its title, summary or goal."""

import pytest
from django.urls import reverse

from apps.content.selectors import track_list
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracks():
    return {
        "llm": TrackFactory(title="Generative AI builder", summary="", goal="Build with LLMs"),
        "vision": TrackFactory(
            title="Seeing machines", summary="Convolutional networks for images", goal=""
        ),
        "stats": TrackFactory(title="Statistics", summary="Probability first", goal="Analyse"),
    }


@pytest.mark.parametrize(
    ("query", "found"),
    [("LLM", "llm"), ("convolutional", "vision"), ("statis", "stats"), ("builder", "llm")],
)
def test_search_matches_title_summary_and_goal(tracks, query, found):
    assert list(track_list(search=query)) == [tracks[found]]


def test_catalog_search_finds_a_track_by_its_goal(client, tracks):
    html = client.get(reverse("learning:catalog"), {"q": "LLM"}).content.decode()

    assert "Generative AI builder" in html
    assert "Seeing machines" not in html
    assert ">Search:</label>" in html


def test_api_search_finds_a_track_by_its_summary(client, tracks):
    body = client.get("/api/v1/tracks/", {"search": "convolutional"}).json()

    assert [track["title"] for track in body["results"]] == ["Seeing machines"]
