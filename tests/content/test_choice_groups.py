"""Either/or steps: a choice group is complete when any one (or N) of its steps is done."""

import random
import textwrap
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from apps.content.models import ChoiceGroup, Step, Track
from apps.content.roadmaps import RoadmapError
from apps.content.services import roadmaps_load
from apps.progress.selectors import (
    completion_for,
    completion_of_steps,
    learner_completions_for,
    next_steps_for,
    step_statuses_for,
    track_completion_for,
)
from apps.progress.services import step_status_set

pytestmark = pytest.mark.django_db

TRACK = """
slug: either-or
title: Either or
level: beginner
groups:
  - key: first-course
    title: A first course
    description: Take the long one or the short one.
    steps: [imperial, eduonix]
  - key: two-projects
    title: Two projects
    choose: 2
    steps: [project-a, project-b, project-c]
steps:
  - key: python
    title: Python
    minutes: 600
  - key: imperial
    title: Imperial's course
    minutes: 3000
  - key: eduonix
    title: Eduonix's shorter course
    minutes: 600
  - key: project-a
    title: Project A
    minutes: 300
  - key: project-b
    title: Project B
    minutes: 600
  - key: project-c
    title: Project C
    minutes: 900
  - key: deploy
    title: Deploy
    minutes: 120
    prerequisites: [first-course]
"""


def _load(tmp_path: Path, text: str = TRACK, name: str = "either-or.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return roadmaps_load(paths=[path])


@pytest.fixture
def track(tmp_path):
    _load(tmp_path)
    return Track.objects.get(slug="either-or")


def _steps(track):
    return {s.key: s for s in Step.objects.filter(track=track)}


def _mark(user, steps, **statuses):
    for key, status in statuses.items():
        step_status_set(user=user, step=steps[key.replace("_", "-")], status=status)


def test_the_loader_stores_groups_and_prerequisites_on_a_group(track):
    groups = {g.key: g for g in ChoiceGroup.objects.filter(track=track)}
    assert groups["first-course"].required == 1
    assert groups["two-projects"].required == 2
    steps = _steps(track)
    assert steps["imperial"].group == groups["first-course"]
    assert steps["python"].group is None
    assert list(steps["deploy"].prerequisite_groups.all()) == [groups["first-course"]]


def test_a_learner_who_takes_the_alternative_reaches_100_percent(track, learner):
    steps = _steps(track)
    _mark(learner, steps, python="done", eduonix="done", project_a="done", project_c="done")
    _mark(learner, steps, deploy="done")

    completion = track_completion_for(user_id=learner.pk, track_id=track.pk)

    assert completion.percent == 100 and completion.is_complete
    # Every step is still counted once: the untaken ones are extras.
    assert (completion.steps_total, completion.steps_done) == (7, 5)
    assert (completion.required_total, completion.optional_total) == (5, 2)
    assert completion.remaining_minutes == 0


def test_a_group_counts_once_however_many_of_its_steps_are_done(track, learner):
    steps = _steps(track)
    _mark(learner, steps, imperial="done", eduonix="done")

    completion = track_completion_for(user_id=learner.pk, track_id=track.pk)

    # python, the group (1), two projects (2), deploy: 5 required, 1 of them done.
    assert (completion.required_total, completion.required_done) == (5, 1)
    assert completion.percent == 20
    assert completion.optional_done == 1


def test_choose_n_needs_n_steps(track, learner):
    steps = _steps(track)
    _mark(learner, steps, project_b="done")
    one = track_completion_for(user_id=learner.pk, track_id=track.pk)
    _mark(learner, steps, project_a="done")
    two = track_completion_for(user_id=learner.pk, track_id=track.pk)

    assert (one.required_done, two.required_done) == (1, 2)
    # Left with one project done: python 600, the first course at the average of its two
    # (1800), one more project at the average of A and C (600), deploy 120.
    assert one.remaining_minutes == 600 + 1800 + 600 + 120
    assert two.remaining_minutes == 600 + 1800 + 120


def test_skipping_every_alternative_skips_the_group_and_one_is_not_enough(track, learner):
    steps = _steps(track)
    _mark(learner, steps, imperial="skipped")
    one_skipped = track_completion_for(user_id=learner.pk, track_id=track.pk)
    _mark(learner, steps, eduonix="skipped")
    both_skipped = track_completion_for(user_id=learner.pk, track_id=track.pk)

    assert one_skipped.required_skipped == 0  # Eduonix's course can still complete it
    assert both_skipped.required_skipped == 1


def test_a_prerequisite_on_a_group_is_met_by_any_of_its_steps(track, learner, client):
    steps = _steps(track)
    _mark(learner, steps, python="done", project_a="done", project_b="done")
    client.force_login(learner)
    page = client.get(reverse("learning:track", args=["either-or"])).content.decode()
    deploy = page[page.index('id="step-deploy"') :]
    assert "Waiting on “A first course”" in deploy
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].key == "imperial"

    _mark(learner, steps, eduonix="done")

    page = client.get(reverse("learning:track", args=["either-or"])).content.decode()
    deploy = page[page.index('id="step-deploy"') :]
    assert "Waiting on" not in deploy.split("</li>")[0]
    # Imperial's course is no longer next: its group is complete.
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].key == "deploy"


def test_marking_an_alternative_updates_the_dependents_notice_in_place(track, learner, client):
    client.force_login(learner)
    response = client.post(
        reverse("learning:step-status", args=["either-or", "eduonix"]),
        {"status": "done"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="step-deploy"' in html and "Waiting on" not in html.split('id="step-deploy"')[1]

    response = client.post(
        reverse("learning:step-status", args=["either-or", "eduonix"]),
        {"status": "todo"},
        HTTP_HX_REQUEST="true",
    )
    assert "Waiting on “A first course”" in response.content.decode()


def test_the_track_page_shows_a_group_as_choose_one(track, client):
    page = client.get(reverse("learning:track", args=["either-or"])).content.decode()

    first = page[page.index('id="group-first-course"') :]
    assert "Choose one" in first[:600] and "A first course" in first[:600]
    assert first.index('id="step-imperial"') < first.index('id="step-eduonix"')
    assert "Choose 2" in page[page.index('id="group-two-projects"') :][:600]
    assert 'href="#group-first-course"' in page


def test_the_api_exposes_groups_and_each_steps_group(track, learner):
    body = Client().get("/api/v1/tracks/either-or/").json()

    groups = {g["key"]: g for g in body["groups"]}
    assert groups["first-course"]["required"] == 1
    assert [s["key"] for s in groups["first-course"]["steps"]] == ["imperial", "eduonix"]
    assert groups["two-projects"]["required"] == 2
    by_key = {s["key"]: s for s in body["steps"]}
    assert by_key["eduonix"]["group"]["key"] == "first-course"
    assert by_key["python"]["group"] is None
    assert [g["key"] for g in by_key["deploy"]["prerequisite_groups"]] == ["first-course"]


def test_the_api_progress_counts_a_group_once(track, learner, client):
    steps = _steps(track)
    _mark(learner, steps, python="done", eduonix="done", project_a="done", project_c="done")
    _mark(learner, steps, deploy="done")
    client.force_login(learner)

    body = client.get("/api/v1/tracks/either-or/").json()

    assert body["progress"]["percent"] == 100


@pytest.mark.parametrize("seed", range(6))
def test_every_completion_query_agrees_on_groups(track, learner, seed):
    rng = random.Random(seed)
    steps = list(Step.objects.filter(track=track).select_related("group"))
    for step in steps:
        status = rng.choice(["todo", "in_progress", "done", "skipped"])
        if status != "todo":
            step_status_set(user=learner, step=step, status=status)
    statuses = step_statuses_for(user_id=learner.pk, step_ids=[s.pk for s in steps])

    in_python = completion_of_steps(
        user_id=learner.pk,
        track_id=track.pk,
        steps=[
            (
                s.pk,
                s.is_optional,
                s.estimated_minutes,
                s.group_id,
                s.group.required if s.group else 0,
            )
            for s in steps
        ],
        statuses=statuses,
    )

    assert (
        in_python
        == completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]
    )
    assert in_python == learner_completions_for(user_id=learner.pk, track_ids=[track.pk])[track.pk]


BAD_GROUPS = {
    "unknown step": (
        "groups:\n  - {key: pick, title: Pick, steps: [a, zzz]}\n",
        "groups[0] ('pick').steps: 'zzz' is not the key of a step in this track",
    ),
    "choose more than it has": (
        "groups:\n  - {key: pick, title: Pick, choose: 3, steps: [a, b]}\n",
        "groups[0] ('pick').choose: 3 is more than the group's 2 steps",
    ),
    "one step": (
        "groups:\n  - {key: pick, title: Pick, steps: [a]}\n",
        "groups[0] ('pick').steps: a choice group needs at least two steps",
    ),
    "a step in two groups": (
        "groups:\n  - {key: one, title: One, steps: [a, b]}\n"
        "  - {key: two, title: Two, steps: [b, c]}\n",
        "groups[1] ('two').steps: 'b' is already in the group 'one'",
    ),
    "key of a step": (
        "groups:\n  - {key: a, title: Pick, steps: [b, c]}\n",
        "groups[0] ('a').key: 'a' is already the key of a step",
    ),
    "optional member": (
        "groups:\n  - {key: pick, title: Pick, steps: [a, opt]}\n",
        "groups[0] ('pick').steps: 'opt' is optional",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_GROUPS))
def test_a_bad_group_is_refused_naming_file_and_group_and_nothing_is_written(tmp_path, case):
    # A valid edit of a loaded track, in the same run as the bad file: neither is written.
    _load(tmp_path)
    edited = TRACK.replace("title: Python\n", "title: Python, edited\n")
    good = tmp_path / "either-or.yaml"
    good.write_text(textwrap.dedent(edited))
    groups, expected = BAD_GROUPS[case]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "slug: bad\ntitle: Bad\nlevel: beginner\n"
        + groups
        + "steps:\n  - {key: a, title: A, minutes: 1}\n  - {key: b, title: B, minutes: 1}\n"
        "  - {key: c, title: C, minutes: 1}\n"
        "  - {key: opt, title: Opt, minutes: 1, optional: true}\n"
    )

    with pytest.raises(RoadmapError) as error:
        roadmaps_load(paths=[good, bad])

    assert f"{bad}: {expected}" in error.value.message
    assert not Track.objects.filter(slug="bad").exists()
    assert Step.objects.get(key="python").title == "Python"


def test_a_prerequisite_may_name_a_group_but_not_its_own(tmp_path):
    text = TRACK.replace(
        "    minutes: 3000\n", "    minutes: 3000\n    prerequisites: [first-course]\n"
    )
    with pytest.raises(RoadmapError) as error:
        _load(tmp_path, text, "own.yaml")
    assert "steps[1].prerequisites: a step cannot require its own group" in error.value.message


def test_a_group_that_closes_a_cycle_is_refused(tmp_path):
    text = TRACK.replace(
        "    title: Python\n    minutes: 600\n",
        "    title: Python\n    minutes: 600\n    prerequisites: [first-course]\n",
    ).replace(
        "    title: Imperial's course\n",
        "    title: Imperial's course\n    prerequisites: [python]\n",
    )
    with pytest.raises(RoadmapError) as error:
        _load(tmp_path, text, "cycle.yaml")
    assert "prerequisites form a cycle" in error.value.message


def test_groups_leave_and_come_back_with_the_file(tmp_path, track, learner):
    steps = _steps(track)
    _mark(learner, steps, eduonix="done")
    # Drop both groups (and the prerequisite on one) from the file.
    head, rest = textwrap.dedent(TRACK).split("groups:\n", 1)
    body = rest[rest.index("steps:\n") :].replace("    prerequisites: [first-course]\n", "")
    _load(tmp_path, head + body)

    assert not ChoiceGroup.objects.filter(track=track).exists()
    completion = track_completion_for(user_id=learner.pk, track_id=track.pk)
    assert (completion.required_total, completion.required_done) == (7, 1)

    _load(tmp_path)

    completion = track_completion_for(user_id=learner.pk, track_id=track.pk)
    assert (completion.required_total, completion.required_done) == (5, 1)


def test_the_example_in_the_format_reference_loads(tmp_path):
    reference = (Path(__file__).parents[2] / "docs" / "roadmap-format.md").read_text()
    example = reference.split("## Example")[1].split("```yaml\n")[1].split("```")[0]

    _load(tmp_path, example, "example.yaml")

    group = ChoiceGroup.objects.get(key="first-course")
    assert group.required == 1
    assert [s.key for s in group.steps.order_by("position")] == ["course-long", "course-short"]


def test_a_groups_heading_says_when_it_is_complete_on_the_page_and_in_place(track, learner, client):
    client.force_login(learner)
    url = reverse("learning:track", args=["either-or"])
    head = 'id="group-head-first-course"'

    def heading(html: str) -> str:
        return html[html.index(head) :].split("</div>")[0]

    assert "Complete" not in heading(client.get(url).content.decode())

    response = client.post(
        reverse("learning:step-status", args=["either-or", "eduonix"]),
        {"status": "done"},
        HTTP_HX_REQUEST="true",
    )
    changed = response.content.decode()
    assert 'hx-swap-oob="true"' in changed[changed.index(head) - 80 :][:200]
    assert "Complete" in heading(changed)
    assert "Complete" in heading(client.get(url).content.decode())

    undone = client.post(
        reverse("learning:step-status", args=["either-or", "eduonix"]),
        {"status": "todo"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Complete" not in heading(undone)
