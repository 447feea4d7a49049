"""Every change to content moves the content revision, so caches keyed by it stay true."""

import pytest

from apps.content.models import ContentRevision
from apps.content.services import roadmaps_load, tracks_publish_set
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, TrackFactory

pytestmark = pytest.mark.django_db


def revision() -> int:
    return ContentRevision.objects.get(pk=1).number


@pytest.mark.parametrize(
    "change",
    [
        lambda: TrackFactory(),
        lambda: StepFactory(),
        lambda: ResourceFactory(),
        lambda: StepResourceFactory(),
    ],
)
def test_saving_content_moves_the_revision(change):
    before = revision()
    change()
    assert revision() > before


def test_prerequisites_deletes_and_publishing_move_the_revision():
    first, second = StepFactory(), None
    second = StepFactory(track=first.track)
    before = revision()
    second.prerequisites.add(first)
    assert revision() > before

    before = revision()
    tracks_publish_set(track_ids=[first.track_id], published=False)
    assert revision() > before

    before = revision()
    second.delete()
    assert revision() > before


def test_loading_unchanged_roadmaps_keeps_the_revision(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("slug: t\ntitle: T\nlevel: beginner\nsteps: [{key: a, title: A, minutes: 5}]\n")
    roadmaps_load(paths=[path])
    before = revision()

    roadmaps_load(paths=[path])

    assert revision() == before
