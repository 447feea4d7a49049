"""Importing a roadmap article: the proposal, import_article and the admin's pages.

Every article here is written for these tests (messy on purpose), not taken from the
documents the built-in roadmaps came from.
"""

import socket
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.content.importer import article_propose, draft_document, durations_find, price_find
from apps.content.models import ChoiceGroup, ContentRevision, Resource, Step, Track
from apps.content.selectors import track_list
from apps.content.services import roadmaps_load, track_import
from apps.core.errors import ApplicationError
from tests.factories import ResourceFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/content/track/import/"
BOOTCAMP = "https://learn.coursehub.io/course/classifier-bootcamp"

MESSY = """\
---
title: Shipping a tiny model, start to finish
description: A <em>weekend-sized</em> route from notebooks to a served model.
level: intermediate
canonical: "http://google.com"
tags:
  -
---

Why this route exists, in a sentence or two. No links up here.

## Notebooks first

Start with [the Jupyter primer](https://jupyter.example-docs.org/primer/?utm_source=blog&utm_campaign=spring) (about 10 hours).

- Warm-up drills live at https://drills.pyschool.net/basics.
  - The same primer again: [Jupyter primer](https://jupyter.example-docs.org/primer)
  - And a link with no words: [](https://videos.tubehost.io/watch/intro-to-cells)
    - deeper still: <https://drills.pyschool.net/basics/>

## Train a small classifier

[Classifier Bootcamp](https://learn.coursehub.io/course/classifier-bootcamp?fbclid=abc123) — 4 weeks, free to audit or $49/month for the certificate.

## A faster bootcamp

An alternative to the bootcamp above: <a href="https://short.coursehub.io/fast-track" onclick="steal()">Fast Track</a> for $15, 6 hours.
<script>document.title = "owned"</script>

<div><a href="javascript:alert(1)">click me</a> or the <a href="http://localhost:8000/admin/">local admin</a> <b>bold words</b></div>

## Serve it

Put the model behind an API with the [Serving handbook](https://serve-handbook.dev/guide), free.

## Thanks

Thanks for reading, and good luck!
"""  # noqa: E501


def _propose(text: str = MESSY):
    return article_propose(text)


# --- the proposal ---------------------------------------------------------------------


def test_headings_become_steps_and_the_front_matter_names_the_track():
    draft = _propose()

    assert draft.title == "Shipping a tiny model, start to finish"
    assert draft.summary == "A weekend-sized route from notebooks to a served model."
    assert draft.level == "intermediate"
    assert draft.description == "Why this route exists, in a sentence or two. No links up here."
    assert [s.title for s in draft.steps] == [
        "Notebooks first",
        "Train a small classifier",
        "A faster bootcamp",
        "Serve it",
        "Thanks",
    ]
    # A section with neither links nor time is proposed to be left out.
    assert [s.keep for s in draft.steps] == [True, True, True, True, False]


def test_front_matter_placeholder_link_is_never_a_resource():
    draft = _propose()

    assert not any("google.com" in url for url in draft.resources)
    assert any("http://google.com" in w for w in draft.warnings)


def test_nested_lists_bare_urls_and_duplicate_links_give_one_resource_per_url():
    draft = _propose()
    first = draft.steps[0]

    # The primer is linked twice (once with tracking parameters), the drills twice (a
    # bare URL and an autolink with a trailing slash): one resource each.
    assert [link.url for link in first.links] == [
        "https://jupyter.example-docs.org/primer",
        "https://drills.pyschool.net/basics",
        "https://videos.tubehost.io/watch/intro-to-cells",
    ]
    assert len(draft.resources) == 6
    assert "- Warm-up drills live at https://drills.pyschool.net/basics." in first.description
    assert "    - deeper still:" in first.description


def test_tracking_parameters_are_normalized_away():
    draft = _propose()

    assert "https://learn.coursehub.io/course/classifier-bootcamp" in draft.resources
    assert not any("utm_" in url or "fbclid" in url for url in draft.resources)


def test_link_without_words_gets_a_title_from_its_address():
    draft = _propose()

    video = draft.resources["https://videos.tubehost.io/watch/intro-to-cells"]
    assert video.title == "Intro to cells (videos.tubehost.io)"
    assert any("without words" in w for w in draft.warnings)


def test_html_in_markdown_is_read_as_text_and_its_scripts_dropped():
    draft = _propose()
    faster = draft.steps[2]

    # The <a> tag's link is a resource; its onclick, the script and javascript: are not.
    assert [link.url for link in faster.links] == ["https://short.coursehub.io/fast-track"]
    assert draft.resources["https://short.coursehub.io/fast-track"].title == "Fast Track"
    assert "owned" not in faster.description
    assert "<" not in faster.description and "steal" not in faster.description
    assert "bold words" in faster.description
    assert not any(url.startswith("http://localhost") for url in draft.resources)
    assert any("javascript:alert(1)" in w and "not an http(s) link" in w for w in draft.warnings)
    assert any("localhost" in w and "local address" in w for w in draft.warnings)


def test_durations_and_prices_in_the_text_are_suggested():
    draft = _propose()
    notebooks, classifier, faster, serve, _ = draft.steps

    assert (notebooks.minutes, notebooks.hint) == (600, "from “about 10 hours”")
    # 4 weeks at the default 5 study hours a week.
    assert classifier.minutes == 4 * 5 * 60
    bootcamp = draft.resources["https://learn.coursehub.io/course/classifier-bootcamp"]
    assert (bootcamp.cost, bootcamp.duration) == ("freemium", "4 weeks")
    assert classifier.links[0].note == "Price: $49/month"
    fast = draft.resources["https://short.coursehub.io/fast-track"]
    assert (fast.cost, fast.duration, faster.minutes) == ("paid", "6 hours", 360)
    assert draft.resources["https://serve-handbook.dev/guide"].cost == "free"
    # No time stated: the default.
    assert serve.minutes == 60


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("about 10 hours", 600),
        ("2-3 hours", 180),
        ("45 minutes", 45),
        ("half an hour", 30),
        ("5 hours a week for 2 months", round(5 * 2 * 52 / 12 * 60)),
        ("three days", 3 * 2 * 60),
    ],
)
def test_durations_found_in_prose(text, minutes):
    assert [d.minutes for d in durations_find(f"It takes {text}.")] == [minutes]


@pytest.mark.parametrize(
    ("text", "cost", "stated"),
    [
        ("It is free.", "free", ""),
        ("$49/month", "paid", "$49/month"),
        ("Free to audit, €30 for a certificate", "freemium", "€30"),
        ("Feel welcome to skim it.", None, None),
    ],
)
def test_prices_found_in_prose(text, cost, stated):
    price = price_find(text)
    assert (price.cost if price else None, price.stated if price else None) == (cost, stated)


def test_an_alternative_is_proposed_as_a_choice_with_the_step_before():
    draft = _propose()

    assert draft.steps[1].choice == draft.steps[2].choice == "Train a small classifier"
    assert draft.steps[0].choice == ""


def test_links_already_stored_are_matched_and_not_changed():
    stored = ResourceFactory(
        url="https://jupyter.example-docs.org/primer", title="Primer (curated)", kind="book"
    )

    draft = _propose()

    proposed = draft.resources["https://jupyter.example-docs.org/primer"]
    assert (proposed.existing_id, proposed.title) == (stored.pk, "Primer (curated)")


def test_the_proposal_never_opens_a_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the importer tried to reach the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    draft = _propose()

    assert len(draft.resources) == 6


def test_a_lone_top_heading_is_the_track_title_not_a_step():
    draft = _propose("# My roadmap\n\nIntro.\n\n## One\n\n[A](https://a.example-site.org)\n")

    assert draft.title == "My roadmap"
    assert [s.title for s in draft.steps] == ["One"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   \n", "empty"),
        ("bin\x00ary", "NUL"),
        ("Just words, no headings or links.", "no headings"),
    ],
)
def test_input_that_is_not_an_article_is_refused_clearly(text, message):
    with pytest.raises(ApplicationError, match=message):
        article_propose(text)


def test_an_article_over_the_size_limit_is_refused(settings):
    settings.STEPWISE_IMPORT_MAX_BYTES = 100
    with pytest.raises(ApplicationError, match="longer than"):
        article_propose("## A\n" + "x" * 200)


# --- saving through the content services ----------------------------------------------


def test_track_import_reuses_stored_resources_and_bumps_the_revision():
    stored = ResourceFactory(
        url="https://jupyter.example-docs.org/primer", title="Primer (curated)", kind="book"
    )
    ContentRevision.objects.update_or_create(pk=1, defaults={"number": 7})
    draft = _propose()

    track = track_import(document=draft_document(draft, published=False), name="article")

    assert not track.is_published
    assert track not in track_list()
    assert Resource.objects.filter(url=stored.url).count() == 1
    stored.refresh_from_db()
    assert (stored.title, stored.kind) == ("Primer (curated)", "book")
    assert Step.objects.get(track=track, key="notebooks-first").resources.count() == 3
    assert Resource.objects.count() == 6
    assert ContentRevision.objects.get(pk=1).number == 8
    group = ChoiceGroup.objects.get(track=track)
    assert sorted(group.steps.values_list("key", flat=True)) == [
        "a-faster-bootcamp",
        "train-a-small-classifier",
    ]


def test_track_import_refuses_a_slug_in_use_and_writes_nothing():
    TrackFactory(slug="shipping-a-tiny-model-start-to-finish")
    draft = _propose()

    with pytest.raises(ApplicationError, match="already uses"):
        track_import(document=draft_document(draft, published=True), name="article")

    assert Resource.objects.count() == 0


# --- import_article ----------------------------------------------------------------------


@pytest.fixture
def article(tmp_path) -> Path:
    path = tmp_path / "tiny-model.md"
    path.write_text(MESSY, encoding="utf-8")
    return path


def test_dry_run_prints_the_proposal_and_writes_nothing(article):
    out, err = StringIO(), StringIO()

    call_command("import_article", str(article), "--dry-run", stdout=out, stderr=err)

    text = out.getvalue()
    assert "Track: Shipping a tiny model, start to finish" in text
    assert "1. Notebooks first [notebooks-first] (~10 h)" in text
    assert "Classifier Bootcamp <https://learn.coursehub.io/course/classifier-bootcamp>" in text
    assert "left out" in text
    assert "4 step(s) kept, 6 resource(s): 6 new" in text
    assert "http://google.com" in err.getvalue()
    assert (Track.objects.count(), Resource.objects.count()) == (0, 0)


def test_yaml_round_trips_through_load_roadmaps(article, tmp_path):
    stored = ResourceFactory(url="https://serve-handbook.dev/guide", title="Serving handbook")
    target = tmp_path / "out.yaml"

    call_command("import_article", str(article), "--yaml", "-o", str(target), stdout=StringIO())
    assert Track.objects.count() == 0

    report = roadmaps_load(paths=[target])
    track = Track.objects.get(slug="shipping-a-tiny-model-start-to-finish")
    assert not track.is_published
    assert list(track.steps.values_list("key", "estimated_minutes")) == [
        ("notebooks-first", 600),
        ("train-a-small-classifier", 1200),
        ("a-faster-bootcamp", 360),
        ("serve-it", 60),
    ]
    assert report.resources.created == 5 and report.resources.unchanged == 1
    stored.refresh_from_db()
    assert stored.title == "Serving handbook"
    assert ChoiceGroup.objects.filter(track=track).count() == 1
    # The file is a roadmap like any other: loading it again changes nothing.
    assert not roadmaps_load(paths=[target]).changed


def test_yaml_refuses_to_overwrite_a_file(article, tmp_path):
    target = tmp_path / "out.yaml"
    target.write_text("keep me", encoding="utf-8")

    with pytest.raises(CommandError, match="exists"):
        call_command("import_article", str(article), "--yaml", "-o", str(target))
    assert target.read_text(encoding="utf-8") == "keep me"


def test_without_flags_the_track_is_saved_unpublished(article):
    call_command("import_article", str(article), stdout=StringIO(), stderr=StringIO())

    track = Track.objects.get()
    assert not track.is_published
    assert track.steps.count() == 4


def test_a_file_that_is_not_text_is_a_clear_error(tmp_path):
    path = tmp_path / "photo.md"
    path.write_bytes(b"\xff\xd8\xff\xe0 binary")

    with pytest.raises(CommandError, match="UTF-8"):
        call_command("import_article", str(path), "--dry-run")


# --- the admin's pages --------------------------------------------------------------------


def _review_data(client, text: str = MESSY) -> dict[str, object]:
    """What the review page posts back unchanged, read from the page itself."""
    response = client.post(IMPORT_URL, {"stage": "source", "article": text})
    assert response.status_code == 200
    steps = response.context["steps"]
    resources = response.context["resources"]
    track = response.context["track_form"]
    data: dict[str, object] = {"stage": "review"}
    for form in [track, *steps.forms, *resources.forms]:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = value
    for formset in (steps, resources):
        for field in formset.management_form:
            data[field.html_name] = field.value()
    return data


def test_the_changelist_links_to_the_import(staff_client):
    response = staff_client.get(reverse("admin:content_track_changelist"))

    assert IMPORT_URL.encode() in response.content


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(IMPORT_URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_without_the_right_to_add_tracks_are_refused(client):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"stage": "source", "article": MESSY}).status_code == 403


def test_a_post_without_the_csrf_token_is_refused(db):
    curator = UserFactory(is_staff=True)
    curator.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_track", "add_step", "add_resource"])
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)

    response = client.post(IMPORT_URL, {"stage": "source", "article": MESSY})

    assert response.status_code == 403
    assert Track.objects.count() == 0


def test_pasting_proposes_a_review_and_writes_nothing(staff_client):
    response = staff_client.post(IMPORT_URL, {"stage": "source", "article": MESSY})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Review the imported track" in page
    assert 'value="Notebooks first"' in page
    assert "from “about 10 hours”" in page
    assert "<script>document.title" not in page
    assert (Track.objects.count(), Resource.objects.count()) == (0, 0)


def test_an_uploaded_file_is_proposed_too(staff_client):
    upload = SimpleUploadedFile("route.md", MESSY.encode(), content_type="text/markdown")

    response = staff_client.post(IMPORT_URL, {"stage": "source", "upload": upload})

    assert response.context["track_form"].initial["title"] == (
        "Shipping a tiny model, start to finish"
    )


def test_empty_or_binary_input_is_refused_on_the_page(staff_client):
    empty = staff_client.post(IMPORT_URL, {"stage": "source", "article": "  "})
    binary = staff_client.post(
        IMPORT_URL,
        {"stage": "source", "upload": SimpleUploadedFile("x.md", b"\xff\xfe\x00\x01")},
    )

    assert "Paste an article or upload its file." in empty.content.decode()
    assert "The file is not UTF-8 text." in binary.content.decode()


def test_preview_shows_the_roadmap_and_writes_nothing(staff_client):
    data = _review_data(staff_client)

    response = staff_client.post(IMPORT_URL, {**data, "action": "preview"})

    assert response.context["problems"] == []
    assert "slug: shipping-a-tiny-model-start-to-finish" in response.context["preview"]
    assert Track.objects.count() == 0


def test_curator_edits_merges_drops_and_publishes(staff_client):
    stored = ResourceFactory(url="https://serve-handbook.dev/guide", title="Serving handbook")
    data = _review_data(staff_client)
    # Drop "Notebooks first", merge "Serve it" into the faster bootcamp, rename the track,
    # make the bootcamp a video, and keep the proposed choice.
    data.pop("steps-0-keep")
    data["steps-3-merge"] = "on"
    data["track-title"] = "Ship a tiny model"
    data["track-slug"] = "ship-a-tiny-model"
    data[f"{_resource_prefix(data, BOOTCAMP)}-kind"] = "video"

    response = staff_client.post(IMPORT_URL, {**data, "action": "publish"})

    track = Track.objects.get(slug="ship-a-tiny-model")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:content_track_change", args=[track.pk])
    assert track.is_published and track.title == "Ship a tiny model"
    assert list(track.steps.values_list("key", flat=True)) == [
        "train-a-small-classifier",
        "a-faster-bootcamp",
    ]
    faster = track.steps.get(key="a-faster-bootcamp")
    assert faster.estimated_minutes == 360 + 60
    assert list(faster.resources.values_list("url", flat=True)) == [
        "https://short.coursehub.io/fast-track",
        stored.url,
    ]
    assert Resource.objects.get(url=BOOTCAMP).kind == "video"
    assert Resource.objects.filter(url=stored.url).count() == 1
    assert ChoiceGroup.objects.get(track=track).steps.count() == 2
    # The dropped step's resources were not created.
    assert not Resource.objects.filter(url__contains="pyschool").exists()


def test_saving_a_draft_keeps_it_unpublished(staff_client):
    data = _review_data(staff_client)

    staff_client.post(IMPORT_URL, {**data, "action": "draft"})

    track = Track.objects.get()
    assert not track.is_published
    assert track not in track_list()
    assert staff_client.get(f"/tracks/{track.slug}/").status_code == 404


def test_a_choice_with_one_step_is_refused_and_nothing_is_written(staff_client):
    data = _review_data(staff_client)
    data["steps-2-choice"] = ""

    response = staff_client.post(IMPORT_URL, {**data, "action": "publish"})

    assert response.status_code == 200
    assert any("at least two steps" in p for p in response.context["problems"])
    assert (Track.objects.count(), Resource.objects.count()) == (0, 0)


def test_a_slug_in_use_is_refused_on_the_review(staff_client):
    data = _review_data(staff_client)
    TrackFactory(slug="shipping-a-tiny-model-start-to-finish")

    response = staff_client.post(IMPORT_URL, {**data, "action": "publish"})

    assert "A track already uses this address" in response.content.decode()
    assert Track.objects.count() == 1


def test_a_link_added_by_hand_must_be_one_of_the_articles(staff_client):
    data = _review_data(staff_client)
    data["steps-3-links"] = "https://elsewhere.example-site.org/new"

    response = staff_client.post(IMPORT_URL, {**data, "action": "publish"})

    assert any("not one of the article's links" in p for p in response.context["problems"])
    assert Track.objects.count() == 0


def _resource_prefix(data: dict[str, object], url: str) -> str:
    return next(k[: -len("-url")] for k, v in data.items() if k.endswith("-url") and v == url)


def test_a_new_resource_without_a_title_is_refused_only_when_its_step_is_kept(staff_client):
    data = _review_data(staff_client)
    data[f"{_resource_prefix(data, 'https://drills.pyschool.net/basics')}-title"] = ""

    kept = staff_client.post(IMPORT_URL, {**data, "action": "publish"})
    assert any("needs a title" in p for p in kept.context["problems"])
    assert Track.objects.count() == 0

    data.pop("steps-0-keep")
    dropped = staff_client.post(IMPORT_URL, {**data, "action": "publish"})
    assert dropped.status_code == 302
    assert not Resource.objects.filter(url__contains="pyschool").exists()


def test_an_alternative_under_a_heading_is_not_paired_with_that_heading():
    draft = _propose(
        "## 1. Basics:\n\n[Basics](https://basics.example-site.org)\n\n"
        "## Other routes\n\nSome words.\n\n"
        "### Step 2: A side road\n\nAn alternative way in: [Side](https://side.example-site.org)\n"
    )

    assert [s.title for s in draft.steps] == ["Basics", "Other routes", "A side road"]
    assert [s.choice for s in draft.steps] == ["", "", ""]


def test_descriptions_posted_with_crlf_line_ends_are_saved_with_lf(staff_client):
    data = _review_data(staff_client)
    data["steps-1-description"] = "First line.\r\n- a point\r\n- another"

    staff_client.post(IMPORT_URL, {**data, "action": "draft"})

    step = Step.objects.get(key="train-a-small-classifier")
    assert step.description == "First line.\n- a point\n- another"
