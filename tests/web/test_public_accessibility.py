"""axe-core in the real browser over the public page, its settings, the calendar page and
a track page and dashboard telling what changed; the public page on a phone."""

import pytest
from django.conf import settings

from apps.accounts.services import user_create
from apps.content.models import Track
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load, step_saved_record, steps_remove
from apps.learning.public import public_profile_update
from apps.progress.services import step_note_set, step_status_set
from tests.web.test_accessibility import _sign_in, _violations
from tests.web.test_browser import PHONE, page, shoot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_page_calendar_and_what_changed_have_no_axe_violations(page):  # noqa: F811
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))
    learner = user_create(
        email="ada.public@example.com",
        password="a-long-passphrase-9",
        display_name="Ada",
        email_verified=True,
    )
    track = Track.objects.get(slug="ai-ml-engineering-mastery")
    steps = list(track.steps.filter(retired_at__isnull=True).order_by("position"))
    step_status_set(user=learner, step=steps[0], status="done")
    step_status_set(user=learner, step=steps[1], status="in_progress")
    step_note_set(user=learner, step=steps[1], body="A private note.", links=[])
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[track.pk])
    # Curators change the track after the learner started.
    step_saved_record(step=steps[2], created=False, changed_fields=["title"])
    steps_remove(step_ids=[steps[-1].pk])

    # A visitor sees the public page: nothing private on it.
    page.goto("/u/ada/")
    assert _violations(page) == []
    body = page.content()
    assert "A private note." not in body and "ada.public@" not in body
    shoot(page, "public-page")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, "ada.public@example.com")
    page.goto("/dashboard/")
    page.get_by_text("What changed since your last visit").first.wait_for()
    assert _violations(page) == []
    page.goto(f"/tracks/{track.slug}/")
    page.get_by_role("heading", name="What changed since your last visit").wait_for()
    assert _violations(page) == [], "track page"
    for url in ("/account/", "/account/public/", "/account/calendar/"):
        page.goto(url)
        assert _violations(page) == [], url
    page.get_by_role("button", name="Make my calendar link").click()
    page.get_by_label("Calendar URL").wait_for()
    assert _violations(page) == [], "calendar link shown"
