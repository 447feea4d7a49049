import pytest
from django.conf import settings

from apps.content.models import Resource, Track
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load

pytestmark = pytest.mark.django_db


def test_builtin_roadmaps_load_and_reload_without_change():
    files = roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR)

    first = roadmaps_load(paths=files)
    second = roadmaps_load(paths=files)

    assert first.tracks.created >= 7
    assert Track.objects.filter(is_published=True).count() >= 7
    assert not second.changed
    # The Machine Learning Specialization is recommended in four roadmaps: one resource.
    ml = Resource.objects.get(url__contains="specializations/machine-learning-introduction")
    assert ml.steps.values("track").distinct().count() >= 4


def test_builtin_files_are_named_after_their_slug():
    for path in roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR):
        assert f"slug: {path.stem}\n" in path.read_text()
