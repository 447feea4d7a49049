"""The track page as a new learner meets it: the percentage says what it counts, each
status looks like itself with one control, finished steps fold away, the next step is
highlighted with a link to it in a summary that sticks to the top."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from apps.content.models import ChoiceGroup
from apps.progress.models import Status
from apps.progress.selectors import next_steps_for
from apps.progress.services import step_status_set
from tests.factories import StepFactory, StepResourceFactory, TrackFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


class _Rows(HTMLParser):
    """Each step row of a page (``li#step-<key>``): its classes and its HTML."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.lines = [0]
        for line in html.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.rows: dict[str, dict[str, str]] = {}
        self.open: list[tuple[str | None, int]] = []
        self.feed(html)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag != "li":
            return
        found = dict(attrs)
        key = (
            (found.get("id") or "").removeprefix("step-")
            if "step" in (found.get("class") or "").split()
            else None
        )
        if key:
            self.rows[key] = {"class": found.get("class") or ""}
        self.open.append((key, self._offset()))

    def handle_endtag(self, tag):
        if tag != "li" or not self.open:
            return
        key, start = self.open.pop()
        if key:
            self.rows[key]["html"] = self.html[start : self._offset()]


def _rows(html: str) -> dict[str, dict[str, str]]:
    return _Rows(html).rows


def _page(client, track) -> str:
    return client.get(reverse("learning:track", args=[track.slug])).content.decode()


def _mark(client, step, status):
    url = reverse("learning:step-status", args=[step.track.slug, step.key])
    return client.post(url, {"status": status}, **HTMX).content.decode()


# --- the percentage, in words ----------------------------------------------------------


@pytest.fixture
def seven(learner):
    """Seven steps, the last one optional."""
    track = TrackFactory()
    steps = [StepFactory(track=track, key=f"s{n}", position=n) for n in range(1, 7)]
    steps.append(StepFactory(track=track, key="s7", position=7, is_optional=True))
    return steps


def test_the_percentage_says_it_counts_required_steps_only(client, learner, seven):
    step_status_set(user=learner, step=seven[0], status=Status.DONE)
    client.force_login(learner)

    html = _page(client, seven[0].track)

    assert (
        "<strong>16%</strong> complete · 1 of 6 required steps done"
        " · 0 of 1 optional done, not counted"
    ) in html


def test_a_skipped_step_leaves_the_count_and_says_so(client, learner, seven):
    step_status_set(user=learner, step=seven[0], status=Status.DONE)
    step_status_set(user=learner, step=seven[1], status=Status.DONE)
    step_status_set(user=learner, step=seven[2], status=Status.SKIPPED)
    client.force_login(learner)

    html = _page(client, seven[0].track)

    assert (
        "<strong>40%</strong> complete · 2 of 5 required steps done · 1 skipped, not counted"
        in html
    )


def test_a_finished_track_says_finished_while_an_optional_step_is_in_progress(client, learner):
    # The demo learner: three done, one skipped, the optional fifth in progress.
    track = TrackFactory()
    steps = [StepFactory(track=track, key=f"d{n}", position=n) for n in range(1, 5)]
    steps.append(StepFactory(track=track, key="d5", position=5, is_optional=True))
    plan = [Status.DONE, Status.DONE, Status.DONE, Status.SKIPPED, Status.IN_PROGRESS]
    for step, status in zip(steps, plan, strict=True):
        step_status_set(user=learner, step=step, status=status)
    client.force_login(learner)

    html = _page(client, track)

    assert (
        '<strong>100%</strong> complete · <span class="finished">track finished</span>'
        " · all 3 required steps done · 1 skipped, not counted"
        " · 0 of 1 optional done, not counted"
    ) in html
    dashboard = client.get(reverse("learning:dashboard")).content.decode()
    assert '<span class="finished">track finished</span> · all 3 required steps done' in dashboard


def test_the_click_answers_with_the_words_too(client, learner, seven):
    client.force_login(learner)

    html = _mark(client, seven[0], Status.DONE)

    assert "<strong>16%</strong> complete · 1 of 6 required steps done" in html


# --- one control per status, each looking like itself ------------------------------------


@pytest.mark.parametrize("status", [Status.TODO, Status.IN_PROGRESS, Status.DONE, Status.SKIPPED])
def test_each_status_shows_once_in_its_own_look_with_one_control_per_other_state(
    client, learner, seven, status
):
    step = seven[0]
    if status != Status.TODO:
        step_status_set(user=learner, step=step, status=status)
    client.force_login(learner)

    row = _rows(_page(client, step.track))[step.key]["html"]

    # The status once, in the step's heading, in a look of its own (status-<state>)...
    assert row.count("status status-") == 1
    assert f'id="status-{step.key}" tabindex="-1" class="status status-{status}">' in row
    # ...and one control for each other state, none for the current one.
    offered = [s for s in Status.values if f'id="mark-{step.key}-{s}"' in row]
    assert offered == [s for s in Status.values if s != status]
    assert "aria-pressed" not in row and " disabled" not in row


def test_a_click_answers_with_the_steps_status_to_take_the_focus(client, learner, seven):
    client.force_login(learner)

    clicked = _mark(client, seven[0], Status.IN_PROGRESS)

    row = _rows(clicked)[seven[0].key]["html"]
    assert f'id="status-{seven[0].key}" tabindex="-1" class="status status-in_progress">' in row
    # The other controls keep their ids, so htmx can put the focus back on one.
    for other in (Status.TODO, Status.DONE, Status.SKIPPED):
        assert f'id="mark-{seven[0].key}-{other}"' in row


# --- finished steps fold away --------------------------------------------------------------


def test_finished_steps_are_folded_and_open_on_demand(client, learner, seven):
    StepResourceFactory(step=seven[0])
    step_status_set(user=learner, step=seven[0], status=Status.DONE)
    step_status_set(user=learner, step=seven[1], status=Status.SKIPPED)
    step_status_set(user=learner, step=seven[2], status=Status.IN_PROGRESS)
    client.force_login(learner)

    rows = _rows(_page(client, seven[0].track))

    for key in ("s1", "s2"):
        assert '<details class="step-fold"><summary>' in rows[key]["html"], key
        # The title and the status stay in sight, outside the fold.
        head, folded = rows[key]["html"].split('<details class="step-fold">')
        assert "<h2>" in head and "status status-" in head
        assert "step-controls" in folded
    for key in ("s3", "s4"):
        assert "step-fold" not in rows[key]["html"], key


def test_the_row_just_marked_done_stays_open(client, learner, seven):
    client.force_login(learner)

    row = _rows(_mark(client, seven[0], Status.DONE))[seven[0].key]

    assert "status-done" in row["class"]
    assert "step-fold" not in row["html"]


def test_a_visitor_sees_every_step_open(client, seven):
    assert "step-fold" not in _page(client, seven[0].track)


# --- the next step -------------------------------------------------------------------------


def _next_on_page(html: str) -> list[str]:
    return [key for key, row in _rows(html).items() if "is-next" in row["class"].split()]


def test_the_next_step_is_highlighted_with_a_jump_link_in_the_sticky_summary(
    client, learner, seven
):
    step_status_set(user=learner, step=seven[0], status=Status.DONE)
    client.force_login(learner)

    html = _page(client, seven[0].track)

    assert _next_on_page(html) == ["s2"]
    summary = html[html.index('<div class="track-summary sticky">') :]
    summary = summary[: summary.index('<ol class="steps">')]
    assert 'id="track-progress"' in summary
    assert '<p class="jump-next" id="jump-next"><a href="#step-s2">Jump to my next step</a>' in (
        summary
    )
    assert "js/track.js" in html


def test_the_next_step_skips_waiting_steps_and_finished_choices(client, learner):
    # Given: "basics"; a choice of two courses (one done finishes it); "project" waits on
    # "capstone", which is last.
    track = TrackFactory()
    basics = StepFactory(track=track, key="basics", position=1)
    group = ChoiceGroup.objects.create(track=track, key="course", title="A course", required=1)
    course_a = StepFactory(track=track, key="course-a", position=2, group=group)
    StepFactory(track=track, key="course-b", position=3, group=group)
    project = StepFactory(track=track, key="project", position=4)
    capstone = StepFactory(track=track, key="capstone", position=5)
    project.prerequisites.add(capstone)
    client.force_login(learner)
    expected = []
    for status_step in (None, basics, course_a, capstone):
        if status_step is not None:
            step_status_set(user=learner, step=status_step, status=Status.DONE)

        on_page = _next_on_page(_page(client, track))

        # The page picks what the dashboard picks.
        dashboard_pick = next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk]
        assert on_page == [dashboard_pick.key]
        expected.append(on_page[0])
    assert expected == ["basics", "course-a", "capstone", "project"]


def test_no_next_step_no_jump_link(client, learner, seven):
    for step in seven:
        step_status_set(user=learner, step=step, status=Status.DONE)
    client.force_login(learner)

    html = _page(client, seven[0].track)

    assert _next_on_page(html) == []
    assert '<p class="jump-next" id="jump-next" hidden>' in html


def test_a_visitor_has_no_next_step_nor_sticky_summary(client, seven):
    html = _page(client, seven[0].track)

    assert _next_on_page(html) == []
    assert "jump-next" not in html and "track-summary sticky" not in html
