import textwrap
from pathlib import Path

import pytest

from apps.content.models import Resource, Step, StepResource, Track
from apps.content.roadmaps import RoadmapError
from apps.content.services import roadmaps_load
from apps.progress.models import Status, StepProgress
from apps.progress.services import step_status_set

pytestmark = pytest.mark.django_db

GOOD = """
slug: llm-builder
title: LLM builder
summary: Build with language models.
description: |
  Learn **by building**.
level: beginner
goal: Build with LLMs
position: 1
steps:
  - key: python
    title: Learn Python
    minutes: 600
    resources:
      - url: https://Example.com/Python/?utm_source=news&page=2
        title: Python course
        kind: course
        provider: Example
        cost: free
        duration: 11 weeks
  - key: models
    title: Call a model
    minutes: 120
    prerequisites: [python]
    resources:
      - url: https://EXAMPLE.com/Python?page=2&utm_medium=mail
        note: Revisit chapter 3.
      - url: https://papers.example.org/attention
        title: A famous paper
        kind: paper
  - key: extras
    title: Extras
    minutes: 60
    optional: true
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_loads_tracks_steps_and_shared_resources(tmp_path):
    report = roadmaps_load(paths=[write(tmp_path, "a.yaml", GOOD)])

    track = Track.objects.get(slug="llm-builder")
    assert track.is_published and track.goal == "Build with LLMs"
    assert list(track.steps.values_list("key", "position")) == [
        ("python", 1),
        ("models", 2),
        ("extras", 3),
    ]
    # The same course spelled two ways is one resource.
    assert Resource.objects.count() == 2
    course = Resource.objects.get(title="Python course")
    assert course.url == "https://example.com/Python?page=2"
    assert course.duration == "11 weeks"
    assert (
        StepResource.objects.get(step__key="models", resource=course).note == "Revisit chapter 3."
    )
    models_step = Step.objects.get(key="models")
    assert list(models_step.prerequisites.values_list("key", flat=True)) == ["python"]
    assert (report.tracks.created, report.steps.created, report.resources.created) == (1, 3, 2)


def test_second_run_changes_nothing(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD)
    roadmaps_load(paths=[path])
    stamps = list(Step.objects.order_by("pk").values_list("updated_at", flat=True))

    report = roadmaps_load(paths=[path])

    assert not report.changed
    assert report.steps.unchanged == 3 and report.links.unchanged == 3
    assert list(Step.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps


def test_edited_file_updates_in_place_and_keeps_progress(tmp_path, learner):
    path = write(tmp_path, "a.yaml", GOOD)
    roadmaps_load(paths=[path])
    python = Step.objects.get(key="python")
    step_status_set(user=learner, step=python, status=Status.DONE)

    # Re-order, retitle and drop a step.
    edited = GOOD.replace("title: Learn Python", "title: Learn Python properly")
    edited = edited.replace(
        "  - key: extras\n    title: Extras\n    minutes: 60\n    optional: true\n", ""
    )
    report = roadmaps_load(paths=[write(tmp_path, "a.yaml", edited)])

    python.refresh_from_db()
    assert python.title == "Learn Python properly"
    assert StepProgress.objects.get(user=learner, step=python).status == Status.DONE
    assert report.steps.updated == 1 and report.steps.deleted == 1
    assert not Step.objects.filter(key="extras").exists()


def test_reordering_steps_keeps_progress_on_each_key(tmp_path, learner):
    two = """
    slug: t
    title: T
    level: advanced
    steps:
      - {key: first, title: First, minutes: 10}
      - {key: second, title: Second, minutes: 10}
    """
    roadmaps_load(paths=[write(tmp_path, "t.yaml", two)])
    step_status_set(user=learner, step=Step.objects.get(key="second"), status=Status.SKIPPED)

    swapped = two.replace(
        "- {key: first, title: First, minutes: 10}\n      - {key: second, "
        "title: Second, minutes: 10}",
        "- {key: second, title: Second, minutes: 10}\n      - {key: first, "
        "title: First, minutes: 10}",
    )
    roadmaps_load(paths=[write(tmp_path, "t.yaml", swapped)])

    second = Step.objects.get(key="second")
    assert second.position == 1
    assert StepProgress.objects.get(user=learner, step=second).status == Status.SKIPPED


BAD_FILES = {
    "not yaml": ("slug: [unclosed", "line 1"),
    "not a mapping": ("- just\n- a list\n", "file: must hold a mapping"),
    "missing title": (
        "slug: x\nlevel: beginner\nsteps: [{key: a, title: A, minutes: 1}]\n",
        "title: is required",
    ),
    "bad level": (
        "slug: x\ntitle: X\nlevel: expert\nsteps: [{key: a, title: A, minutes: 1}]\n",
        "level: 'expert' is not one of beginner",
    ),
    "unknown field": (
        "slug: x\ntitle: X\nlevel: beginner\ncolour: red\n"
        "steps: [{key: a, title: A, minutes: 1}]\n",
        "colour: unknown field",
    ),
    "bad slug": (
        "slug: Not A Slug\ntitle: X\nlevel: beginner\nsteps: [{key: a, title: A, minutes: 1}]\n",
        "slug: 'Not A Slug' must be",
    ),
    "no steps": ("slug: x\ntitle: X\nlevel: beginner\nsteps: []\n", "steps: must be a non-empty"),
    "duplicate key": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n"
        "  - {key: a, title: A, minutes: 1}\n  - {key: a, title: B, minutes: 1}\n",
        "steps[1].key: 'a' is used by another step",
    ),
    "zero minutes": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps: [{key: a, title: A, minutes: 0}]\n",
        "steps[0].minutes: 0 must be a whole number",
    ),
    "unknown prerequisite": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n"
        "  - {key: a, title: A, minutes: 1, prerequisites: [zzz]}\n",
        "steps[0].prerequisites: 'zzz' is not the key",
    ),
    "cycle": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n"
        "  - {key: a, title: A, minutes: 1, prerequisites: [b]}\n"
        "  - {key: b, title: B, minutes: 1, prerequisites: [a]}\n",
        "prerequisites form a cycle",
    ),
    "bad url": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n  - key: a\n    title: A\n"
        "    minutes: 1\n    resources: [{url: 'ftp://files.example.com/x', title: F}]\n",
        "steps[0].resources[0].url: 'ftp://files.example.com/x' is not an http",
    ),
    "bad kind": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n  - key: a\n    title: A\n"
        "    minutes: 1\n    resources: [{url: 'https://e.com/x', title: F, kind: vid}]\n",
        "steps[0].resources[0].kind: 'vid' is not one of",
    ),
    "resource without title": (
        "slug: x\ntitle: X\nlevel: beginner\nsteps:\n  - key: a\n"
        "    title: A\n    minutes: 1\n"
        "    resources: [{url: 'https://e.com/new'}]\n",
        "title is required the first time",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_with_file_field_and_problem_and_nothing_loaded(tmp_path, case):
    text, expected = BAD_FILES[case]
    good = write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", text)

    with pytest.raises(Exception) as caught:
        roadmaps_load(paths=[good, bad])

    assert expected in str(caught.value)
    if isinstance(caught.value, RoadmapError):
        assert str(bad) in str(caught.value)
    # The good file in the same run was not loaded either.
    assert not Track.objects.exists()
    assert not Resource.objects.exists()


def test_conflicting_resource_mentions_are_refused(tmp_path):
    other = """
    slug: other
    title: Other
    level: beginner
    steps:
      - key: a
        title: A
        minutes: 5
        resources:
          - url: https://example.com/Python?page=2
            title: A different title
    """
    with pytest.raises(RoadmapError, match="disagrees with 'Python course'"):
        roadmaps_load(paths=[write(tmp_path, "a.yaml", GOOD), write(tmp_path, "b.yaml", other)])
    assert not Track.objects.exists()


def test_duplicate_slug_across_files_is_refused(tmp_path):
    with pytest.raises(RoadmapError, match="is also the slug of"):
        roadmaps_load(paths=[write(tmp_path, "a.yaml", GOOD), write(tmp_path, "b.yaml", GOOD)])


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(RoadmapError, match="does not exist"):
        roadmaps_load(paths=[tmp_path / "nope.yaml"])


def test_every_problem_is_reported_at_once(tmp_path):
    text = "slug: x\ntitle: X\nlevel: expert\nsteps: [{key: a, title: A, minutes: -3}]\n"
    with pytest.raises(RoadmapError) as caught:
        roadmaps_load(paths=[write(tmp_path, "bad.yaml", text)])
    assert len(caught.value.problems) == 2
