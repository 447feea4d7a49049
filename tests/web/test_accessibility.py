"""axe-core over the learner's pages in the real browser, and the track map on a phone."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings

from apps.accounts.services import user_create
from apps.content.models import Track
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load
from apps.progress.services import step_note_set, step_status_set
from tests.web.test_browser import PASSWORD, page, shoot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Checks of the WCAG 2.1 A and AA rules and axe's best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def _violations(tab) -> list[str]:
    results = Axe().run(tab, options=AXE_OPTIONS)
    return [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in results.response["violations"]
    ]


def _sign_in(tab, email: str) -> None:
    tab.goto("/accounts/login/")
    tab.get_by_label("Email:").fill(email)
    tab.get_by_label("Password:").fill(PASSWORD)
    tab.get_by_role("button", name="Sign In").click()
    tab.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_the_learners_pages_have_no_axe_violations_and_the_map_fits_a_phone(page):  # noqa: F811
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))
    learner = user_create(email="axe@example.com", password=PASSWORD, email_verified=True)
    track = Track.objects.get(slug="ai-ml-engineering-mastery")
    steps = list(track.steps.filter(retired_at__isnull=True).order_by("position"))
    step_status_set(user=learner, step=steps[0], status="done")
    step_status_set(user=learner, step=steps[1], status="in_progress")
    step_status_set(user=learner, step=steps[3], status="skipped")
    step_note_set(user=learner, step=steps[1], body="Use the **exercises**.", links=[])

    # A visitor first.
    for url in ("/", "/tracks/", f"/tracks/{track.slug}/"):
        page.goto(url)
        assert _violations(page) == [], url

    _sign_in(page, "axe@example.com")
    for url in ("/dashboard/", f"/tracks/{track.slug}/", f"/tracks/{track.slug}/all/reset/"):
        page.goto(url)
        assert _violations(page) == [], url

    # The map: every step of the track has its node, linking to the step below.
    page.goto(f"/tracks/{track.slug}/")
    links = page.locator("svg.track-map a")
    assert links.count() == len(steps) + track.choice_groups.count()
    first = page.locator(f'svg.track-map a[href="#step-{steps[0].key}"]')
    assert "done" in first.locator("title").text_content()
    shoot(page, "track-map")

    # On a phone the page does not scroll sideways (the map scrolls in its own box) and
    # the map's text is not shrunk below 12 px.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('svg.track-map text'))"
        ".map(t => parseFloat(getComputedStyle(t).fontSize) * "
        "t.getScreenCTM().a)"
    )
    assert sizes and min(sizes) >= 12
    assert _violations(page) == []


def test_the_map_follows_a_status_click_without_a_reload(page):  # noqa: F811
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))
    user_create(email="map@example.com", password=PASSWORD, email_verified=True)
    track = Track.objects.get(slug="six-steps-to-ml")
    step = track.steps.filter(retired_at__isnull=True).order_by("position").first()
    _sign_in(page, "map@example.com")
    page.goto(f"/tracks/{track.slug}/")
    node = page.locator(f'svg.track-map a[href="#step-{step.key}"]')
    assert node.locator("circle.map-todo").count() == 1

    page.locator(f'#step-{step.key} button[name="status"][value="done"]').click()
    page.locator(f"#step-{step.key}.status-done").wait_for()

    assert node.locator("circle.map-done").count() == 1
    assert node.locator(".map-tick").count() == 1
    assert node.locator("title").text_content().endswith(", done")
    page.reload()  # and the page drawn anew says the same
    assert node.locator("circle.map-done").count() == 1


def test_a_curator_reorders_steps_with_the_keyboard(page):  # noqa: F811
    from apps.accounts.services import curators_group_ensure
    from apps.content.models import Step
    from tests.factories import StepFactory, TrackFactory

    curator = user_create(email="curator@example.com", password=PASSWORD, email_verified=True)
    curator.is_staff = True
    curator.save(update_fields=["is_staff"])
    curator.groups.add(curators_group_ensure())
    track = TrackFactory(slug="ordered")
    for position, key in enumerate(("first", "second", "third"), start=1):
        StepFactory(track=track, key=key, title=f"The {key} step", position=position)

    _sign_in(page, "curator@example.com")
    page.goto(f"/admin/content/track/{track.pk}/change/")
    handle = page.get_by_role("button", name="Move “The third step” (up and down arrow keys)")
    handle.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.locator(".sortable-status").text_content() == "“The third step” is now step 1."
    assert handle.evaluate("el => el === document.activeElement")
    page.locator('input[name="_save"]').click()
    page.wait_for_url("**/admin/content/track/")

    keys = list(Step.objects.filter(track=track).order_by("position").values_list("key", flat=True))
    assert keys == ["third", "first", "second"]
