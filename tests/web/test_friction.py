"""What a new learner tripped on, in the real browser: the focus after a status click,
the next step following each click, folded finished steps, and the time zone suggested
at sign-up."""

import re

import pytest

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.content.models import ChoiceGroup
from apps.progress.services import step_status_set
from tests.factories import StepFactory, StepResourceFactory, TrackFactory
from tests.web.test_browser import PASSWORD, page, shoot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(tab, email: str) -> None:
    tab.goto("/accounts/login/")
    tab.get_by_label("Email:").fill(email)
    tab.get_by_label("Password:").fill(PASSWORD)
    tab.get_by_role("button", name="Sign In").click()
    tab.wait_for_url(lambda url: "/accounts/login/" not in url)


def _focused_id(tab) -> str:
    return tab.evaluate("document.activeElement ? document.activeElement.id : ''")


def _next_step(tab) -> list[str]:
    return tab.evaluate("Array.from(document.querySelectorAll('li.step.is-next')).map(e => e.id)")


def _jump(tab) -> tuple[bool, str]:
    return tab.evaluate(
        "(() => { const p = document.getElementById('jump-next');"
        " return [p.hidden, p.querySelector('a').getAttribute('href')]; })()"
    )


def test_a_status_click_keeps_the_focus_and_moves_the_next_step_as_a_reload_would(page):  # noqa: F811
    # Given: basics; a choice of two courses; "project" waits on "capstone" (last).
    track = TrackFactory(slug="road", title="Road")
    StepFactory(track=track, key="basics", title="Basics", position=1)
    group = ChoiceGroup.objects.create(track=track, key="course", title="A course", required=1)
    StepFactory(track=track, key="course-a", title="Course A", position=2, group=group)
    StepFactory(track=track, key="course-b", title="Course B", position=3, group=group)
    project = StepFactory(track=track, key="project", title="Project", position=4)
    capstone = StepFactory(track=track, key="capstone", title="Capstone", position=5)
    project.prerequisites.add(capstone)
    for step in track.steps.all():
        StepResourceFactory(step=step)
    user_create(email="kay@example.com", password=PASSWORD, email_verified=True)
    sign_in(page, "kay@example.com")
    page.goto("/tracks/road/")
    assert _next_step(page) == ["step-basics"]
    assert _jump(page) == [False, "#step-basics"]
    page.evaluate("window.__stepwiseNoReload = true")

    # When the learner marks steps from the keyboard, one after the other
    for key, then_next in (
        ("basics", "step-course-a"),
        ("course-a", "step-capstone"),
        ("capstone", "step-project"),
    ):
        control = page.locator(f"#mark-{key}-done")
        control.focus()
        page.keyboard.press("Enter")
        page.locator(f"#step-{key}.status-done").wait_for()
        page.wait_for_function(
            "id => document.querySelector('li.step.is-next') &&"
            " document.querySelector('li.step.is-next').id === id",
            arg=then_next,
        )

        # Then the focus stays on the step: on its status, which now says "Done"
        assert _focused_id(page) == f"status-{key}"
        assert page.evaluate("document.activeElement.textContent") == "Done"
        # and the highlight and the jump link moved where a reload puts them
        assert _next_step(page) == [then_next]
        assert _jump(page) == [False, f"#{then_next}"]
    assert page.evaluate("window.__stepwiseNoReload") is True
    page.reload()
    assert _next_step(page) == ["step-project"]
    assert _jump(page) == [False, "#step-project"]

    # Finished steps come folded after a reload, and open on demand.
    basics = page.locator("#step-basics")
    assert not basics.locator(".step-controls").is_visible()
    basics.locator(".step-fold > summary").click()
    assert basics.locator(".step-controls").is_visible()
    assert basics.get_by_role("button", name="In progress").is_visible()
    assert basics.get_by_role("button", name="Done").count() == 0

    # The summary sticks to the top while the steps scroll by.
    page.locator("#step-project").scroll_into_view_if_needed()
    page.mouse.wheel(0, 2000)
    top = page.evaluate("document.querySelector('.track-summary').getBoundingClientRect().top")
    assert abs(top) < 1
    page.get_by_role("link", name="Jump to my next step").click()
    page.wait_for_url(re.compile(r"#step-project$"))
    shoot(page, "track-next-step")

    # The last step done: no next step, no jump link, and the track says so.
    page.locator("#mark-project-done").click()
    page.locator("#step-project.status-done").wait_for()
    page.wait_for_function("document.getElementById('jump-next').hidden")
    assert _next_step(page) == []
    assert "track finished" in page.locator("#track-progress-label").inner_text()


def test_sign_up_suggests_the_browsers_time_zone(page, live_server):  # noqa: F811
    context = page.context.browser.new_context(base_url=live_server.url, timezone_id="Europe/Paris")
    tab = context.new_page()
    try:
        tab.goto("/accounts/signup/")
        zone = tab.get_by_label("Time zone")
        assert zone.input_value() == "Europe/Paris"
        assert "Suggested from this device" in tab.locator(".suggested").inner_text()
        tab.get_by_label("Email:").fill("lee@example.com")
        tab.get_by_label("Password:", exact=True).fill(PASSWORD)
        tab.get_by_label("Password (again):").fill(PASSWORD)
        tab.get_by_role("button", name="Sign Up").click()
        tab.wait_for_url(re.compile(r"/accounts/confirm-email/"))
        assert User.objects.get(email="lee@example.com").timezone == ("Europe/Paris")

        # The account page suggests it while the zone is still UTC, never over a choice.
        user_create(email="utc@example.com", password=PASSWORD, email_verified=True)
        context.clear_cookies()
        sign_in(tab, "utc@example.com")
        tab.goto("/account/")
        assert tab.get_by_label("Time zone").input_value() == "Europe/Paris"
        tokyo = user_create(email="tokyo@example.com", password=PASSWORD, email_verified=True)
        tokyo.timezone = "Asia/Tokyo"
        tokyo.save()
        tab.get_by_role("button", name="Log out").click()
        sign_in(tab, "tokyo@example.com")
        tab.goto("/account/")
        assert tab.get_by_label("Time zone").input_value() == "Asia/Tokyo"
        assert tab.locator(".suggested").count() == 0
    finally:
        context.close()


def test_a_step_marked_done_from_an_offer_keeps_the_focus_on_the_step(page):  # noqa: F811
    # "Mark done here too" disappears with the click: the step's pressed control takes it.
    from tests.factories import ResourceFactory

    shared = ResourceFactory(title="Shared course", url="https://example.com/shared")
    first = TrackFactory(slug="first", title="First", position=1)
    done_there = StepFactory(track=first, key="there", title="There", position=1)
    StepResourceFactory(step=done_there, resource=shared, position=0)
    second = TrackFactory(slug="second", title="Second", position=2)
    here = StepFactory(track=second, key="here", title="Here", position=1)
    StepResourceFactory(step=here, resource=shared, position=0)
    learner = user_create(email="ola@example.com", password=PASSWORD, email_verified=True)
    step_status_set(user=learner, step=done_there, status="done")
    sign_in(page, "ola@example.com")
    page.goto("/tracks/second/")

    page.locator("#mark-here-done-here").click()
    page.locator("#step-here.status-done").wait_for()

    page.wait_for_function("document.activeElement && document.activeElement.id === 'status-here'")


def test_the_streak_cards_and_the_chart_on_a_phone(page):  # noqa: F811
    track = TrackFactory(slug="phone", title="Phone")
    step = StepFactory(track=track, key="one", title="One", position=1)
    StepFactory(track=track, key="two", title="Two", position=2)
    learner = user_create(email="pho@example.com", password=PASSWORD, email_verified=True)
    step_status_set(user=learner, step=step, status="done")
    sign_in(page, "pho@example.com")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/dashboard/")

    # The streak cards make one row of equal cards, and nothing scrolls sideways.
    boxes = [card.bounding_box() for card in page.locator(".stats > .stat").all()]
    assert len(boxes) >= 2
    assert len({round(box["y"]) for box in boxes}) == 1, boxes
    assert len({round(box["width"]) for box in boxes}) == 1, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The chart's squares are at least 14 px on the screen, its labels at least 12 px.
    square = page.locator(".activity-chart rect").first.bounding_box()
    assert square["width"] >= 14 and square["height"] >= 14
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('.activity-chart text'))"
        ".map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
    )
    assert sizes and min(sizes) >= 12
    shoot(page, "dashboard-streak")


def test_sign_up_account_and_a_folded_track_page_have_no_axe_violations(page):  # noqa: F811
    from tests.web.test_accessibility import _violations

    track = TrackFactory(slug="axe-road", title="Axe road")
    first = StepFactory(track=track, key="one", title="One", position=1)
    StepFactory(track=track, key="two", title="Two", position=2, is_optional=True)
    StepResourceFactory(step=first)
    learner = user_create(email="axe2@example.com", password=PASSWORD, email_verified=True)
    step_status_set(user=learner, step=first, status="done")

    page.goto("/accounts/signup/")
    assert _violations(page) == [], "signup"
    sign_in(page, "axe2@example.com")
    for url in ("/account/", "/reminders/", "/tracks/axe-road/", "/dashboard/"):
        page.goto(url)
        assert _violations(page) == [], url
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/tracks/axe-road/")
    assert _violations(page) == [], "track page on a phone"
