"""The learner's whole journey in a real browser (Playwright driving Debian's Chromium)."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections

from apps.accounts.services import user_create
from apps.content.models import ChoiceGroup
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load
from tests.conftest import CHROMIUM
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, TrackFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(
    os.environ.get("STEPWISE_SCREENSHOTS", settings.BASE_DIR / "test-artifacts" / "screenshots")
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a-long-passphrase-9"


@pytest.fixture
def page(live_server):
    # Playwright's sync API runs an event loop in this thread; Django's ORM is only
    # used from the test's own code between browser calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
        page = context.new_page()
        # Every page runs under the site's Content-Security-Policy: nothing may break it.
        violations: list[str] = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        yield page
        # While Playwright's loop runs in this thread, Django keeps the test's database
        # connection as the loop's (asgiref's Local), not the thread's: close it here, or it
        # outlives the test and the test database cannot be dropped at the end of the run.
        connections.close_all()
        assert not violations, violations
        context.close()
        browser.close()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_text("Pick your first track").wait_for()


def test_learner_signs_up_ticks_a_step_and_sees_it_on_the_dashboard(page, capsys):
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))

    # Sign up, then verify the email with the code it carries.
    page.goto("/accounts/signup/")
    page.get_by_label("Email:").fill("ada@example.com")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    page.get_by_label("Code:").fill(code)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Pick your first track").wait_for()

    # Log out and back in with the new account.
    page.get_by_role("button", name="Log out").click()
    sign_in(page, "ada@example.com")

    # The catalog, then a track.
    page.goto("/tracks/")
    page.get_by_role("heading", name="Tracks", exact=True).wait_for()
    shoot(page, "catalog")
    page.get_by_role("link", name=re.compile("Generative AI")).first.click()
    page.wait_for_url(re.compile(r"/tracks/generative-ai/"))
    page.locator("#track-progress-label").get_by_text("0%", exact=True).wait_for()

    # "Code a small application" waits on the first step, among others.
    waiting = page.locator("#step-build-llm-app .notice")
    assert "Learn enough Python" in waiting.inner_text()

    # Mark the first step done: htmx swaps the step, the bar and the steps that waited on
    # it; the page is not reloaded.
    page.evaluate("window.__stepwiseNoReload = true")
    first_step = page.locator("li.step").first
    first_step.get_by_role("button", name="Done").click()
    first_step = page.locator("li.step").first
    first_step.locator(".status-done, .status.status-done").first.wait_for()
    page.locator("#track-progress-label").get_by_text(re.compile(r"\d+%")).wait_for()
    page.locator("#track-progress-label").get_by_text("0%", exact=True).wait_for(state="detached")
    progress = page.locator("#track-progress-label").inner_text()
    assert re.search(r"[1-9]\d*% complete", progress), progress
    page.locator("#step-build-llm-app .notice").get_by_text("Learn enough Python").wait_for(
        state="detached"
    )
    assert "Pick a task" in page.locator("#step-build-llm-app .notice").inner_text()
    assert page.evaluate("window.__stepwiseNoReload") is True

    # Keyboard: focus the second step's "In progress" button and press Enter.
    second = page.locator("li.step").nth(1)
    second.get_by_role("button", name="In progress").focus()
    page.keyboard.press("Enter")
    page.locator("li.step").nth(1).locator(".status.status-in_progress").wait_for()
    shoot(page, "track")

    # The dashboard shows the track with its progress.
    page.get_by_role("link", name="Dashboard").click()
    card = page.locator(".enrollment").first
    card.wait_for()
    assert "Generative AI" in card.inner_text()
    assert re.search(r"\d+%", card.inner_text())
    assert "1 of" in card.inner_text()
    shoot(page, "dashboard")

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").wait_for()

    with capsys.disabled():
        print(f"\nscreenshots of the catalog, a track and the dashboard: {SHOTS}")


def test_learner_takes_the_alternative_course_and_reaches_100_percent(page):
    track = TrackFactory(slug="either-or", title="Either or")
    group = ChoiceGroup.objects.create(track=track, key="first-course", title="A first course")
    StepFactory(track=track, key="python", title="Python", position=1)
    StepFactory(track=track, key="long", title="The thorough course", position=2, group=group)
    StepFactory(track=track, key="short", title="The quick course", position=3, group=group)
    deploy = StepFactory(track=track, key="deploy", title="Deploy", position=4)
    deploy.prerequisite_groups.add(group)
    user_create(email="grace@example.com", password=PASSWORD, email_verified=True)

    sign_in(page, "grace@example.com")
    page.goto("/tracks/either-or/")

    # The two courses are shown together, as one choice.
    choice = page.locator("#group-first-course")
    assert "Choose one" in choice.locator(".group-head").inner_text()
    assert choice.locator("li.step").count() == 2
    assert "A first course" in page.locator("#step-deploy .notice").inner_text()

    # Python and the quick course done: the deploy step no longer waits, in place.
    page.evaluate("window.__stepwiseNoReload = true")
    page.locator("#step-python").get_by_role("button", name="Done").click()
    page.locator("#step-python .status.status-done").wait_for()
    page.locator("#step-short").get_by_role("button", name="Done").click()
    page.locator("#step-short .status.status-done").wait_for()
    page.locator("#step-deploy .notice").wait_for(state="detached")
    page.locator("#step-deploy").get_by_role("button", name="Done").click()
    page.locator("#track-progress-label").get_by_text("100%", exact=True).wait_for()
    assert page.evaluate("window.__stepwiseNoReload") is True
    shoot(page, "choice-group")


def test_learner_keeps_notes_takes_progress_across_tracks_and_undoes_bulk_actions(page):
    """Issue 11 in one session: a note saved as it is typed, kept through a status click
    and shown rendered; a resource finished in one track offered in another, where it
    completes a choice group; "Mark all done" and "Reset" each undone."""
    # The ML Specialization serves two tracks: a plain step in one, one of a choice
    # ("Choose one") in the other.
    ml_spec = ResourceFactory(
        title="Machine Learning Specialization", url="https://example.com/ml-spec"
    )
    basics = TrackFactory(slug="ml-basics", title="ML basics", position=1)
    StepFactory(track=basics, key="python", title="Learn Python", position=1)
    ml = StepFactory(track=basics, key="ml", title="Machine learning", position=2)
    StepResourceFactory(step=ml, resource=ml_spec, position=0)
    StepFactory(track=basics, key="project", title="A project", position=3)
    deep = TrackFactory(slug="deep-learning", title="Deep learning", position=2)
    group = ChoiceGroup.objects.create(track=deep, key="foundations", title="Foundations")
    cs229 = StepFactory(track=deep, key="cs229", title="Stanford CS229", position=1, group=group)
    StepResourceFactory(step=cs229, resource=ResourceFactory(title="CS229"), position=0)
    spec = StepFactory(
        track=deep, key="ml-spec", title="The ML Specialization", position=2, group=group
    )
    StepResourceFactory(step=spec, resource=ml_spec, position=0)
    StepFactory(track=deep, key="networks", title="Neural networks", position=3)
    user_create(email="lin@example.com", password=PASSWORD, email_verified=True)

    # Beyond the fixture's CSP check: no script error and no failed request either (but
    # the favicon the browser asks for by itself: the site has none).
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.location["url"].endswith("/favicon.ico")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )

    def status_of(key: str) -> str:
        return page.locator(f"#step-{key} .step-head .status").inner_text()

    sign_in(page, "lin@example.com")
    # Following the deep-learning track first: its offers reach the dashboard too.
    page.goto("/tracks/deep-learning/")
    page.locator("#step-networks").get_by_role("button", name="In progress").click()
    page.locator("#step-networks .status.status-in_progress").wait_for()

    # --- a note, saved as it is typed ---------------------------------------------------
    page.goto("/tracks/ml-basics/")
    python = page.locator("#step-python")
    python.get_by_text("Add a note", exact=True).click()
    python.get_by_label("Note").fill(
        "Start with **the tutorial**.\n\n<script>window.__noteRan = true</script>"
    )
    python.get_by_label("Your links").fill("https://docs.python.org/3/tutorial/")
    page.locator("#note-status-python").get_by_text(re.compile(r"^Saved \d\d:\d\d")).wait_for()

    # After a reload it is shown rendered (Markdown, sanitized), only to its author.
    page.reload()
    note = page.locator("#note-python .note-body")
    assert "Your note (only you see it)" in note.inner_text()
    assert note.locator("strong").inner_text() == "the tutorial"
    assert note.locator("script").count() == 0
    assert page.evaluate("window.__noteRan") is None
    link = note.get_by_role("link", name="https://docs.python.org/3/tutorial/")
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"

    # Edited, then a status click before the save has even started: htmx re-renders the
    # row but keeps the note as typed, and the save still happens.
    page.evaluate("window.__stepwiseNoReload = true")
    python.get_by_text("Edit your note", exact=True).click()
    typed = "Start with **the tutorial**, then _the exercises_."
    python.get_by_label("Note").fill(typed)
    python.get_by_role("button", name="In progress").click()
    page.locator("#step-python .status.status-in_progress").wait_for()
    assert page.locator("#note-body-python").input_value() == typed
    assert page.locator("#note-python details").get_attribute("open") is not None
    page.locator("#note-status-python").get_by_text(re.compile(r"^Saved \d\d:\d\d")).wait_for()
    assert page.evaluate("window.__stepwiseNoReload") is True
    page.reload()
    assert page.locator("#note-python .note-body em").inner_text() == "the exercises"
    assert status_of("python") == "In progress"

    # --- done here too ------------------------------------------------------------------
    page.locator("#step-ml").get_by_role("button", name="Done").click()
    page.locator("#step-ml .status.status-done").wait_for()

    page.get_by_role("link", name="Dashboard").click()
    elsewhere = page.locator(".done-elsewhere li")
    elsewhere.first.wait_for()
    assert elsewhere.count() == 1
    assert "Deep learning: The ML Specialization" in elsewhere.inner_text()
    assert "done in ML basics" in elsewhere.inner_text()
    elsewhere.get_by_role("link", name="Deep learning: The ML Specialization").click()
    page.wait_for_url(re.compile(r"/tracks/deep-learning/"))

    # The track offers it on the step served by the same resource, and nowhere else;
    # nothing was marked by itself.
    choice = page.locator("#group-foundations")
    assert "Choose one" in choice.locator(".group-head").inner_text()
    offer = page.locator("#step-ml-spec .offer")
    assert "You finished this in ML basics" in offer.inner_text()
    assert page.locator(".offer").count() == 1
    assert status_of("ml-spec") == "To do"

    # One click marks it done here, in place: the alternative completes the choice, the
    # other course stays to do, and the track reaches 100% without it.
    page.evaluate("window.__stepwiseNoReload = true")
    offer.get_by_role("button", name="Mark done here too").click()
    page.locator("#step-ml-spec .status.status-done").wait_for()
    assert page.locator("#step-ml-spec .offer").count() == 0
    page.locator("#step-networks").get_by_role("button", name="Done").click()
    page.locator("#track-progress-label").get_by_text("100%", exact=True).wait_for()
    assert status_of("cs229") == "To do"
    assert page.evaluate("window.__stepwiseNoReload") is True
    shoot(page, "done-here-too")

    # --- bulk actions, each undone ----------------------------------------------------------
    page.goto("/tracks/ml-basics/")
    before = {key: status_of(key) for key in ("python", "ml", "project")}
    assert before == {"python": "In progress", "ml": "Done", "project": "To do"}

    page.get_by_role("link", name="Mark all done").click()
    page.get_by_role("heading", name="Mark every step of “ML basics” done?").wait_for()
    page.get_by_role("button", name="Mark all done").click()
    page.wait_for_url(re.compile(r"/tracks/ml-basics/$"))
    toast = page.locator("#bulk-undo")
    assert "Mark all done: 2 steps changed." in toast.inner_text()
    assert {key: status_of(key) for key in before} == dict.fromkeys(before, "Done")
    page.locator("#track-progress-label").get_by_text("100%", exact=True).wait_for()
    shoot(page, "bulk-undo")
    toast.get_by_role("button", name="Undo").click()  # htmx: the page refreshes
    page.get_by_text("Undone: 2 steps went back to where they were.").wait_for()
    assert page.locator("#bulk-undo").count() == 0
    assert {key: status_of(key) for key in before} == before

    page.get_by_role("link", name="Reset this track").click()
    page.get_by_role("heading", name="Reset “ML basics”?").wait_for()
    page.get_by_role("button", name="Reset this track").click()
    page.wait_for_url(re.compile(r"/tracks/ml-basics/$"))
    assert "Reset the track: 2 steps changed." in page.locator("#bulk-undo").inner_text()
    assert {key: status_of(key) for key in before} == dict.fromkeys(before, "To do")
    assert "the exercises" in page.locator("#note-python .note-body").inner_text()  # notes stay
    page.locator("#bulk-undo").get_by_role("button", name="Undo").click()
    page.get_by_text("Undone: 2 steps went back to where they were.").wait_for()
    assert {key: status_of(key) for key in before} == before

    assert not errors, errors
