"""A query compiled once per process answers as the ORM does, for any values."""

import pytest
from django.db.models import Count, OuterRef, Subquery

from apps.content.models import Step, Track
from apps.core.compiled import CompiledQuery
from tests.factories import StepFactory, TrackFactory

pytestmark = pytest.mark.django_db


def _steps_of(*, slug: str, minimum: int):
    steps = Step.objects.filter(track_id=OuterRef("pk"), position__gte=minimum).order_by()
    return (
        Track.objects.filter(slug=slug)
        .annotate(n=Subquery(steps.values("track_id").annotate(n=Count("pk")).values("n")))
        .values_list("slug", "n")[:1]
    )


def test_the_compiled_query_gives_the_orms_answer_for_each_value(django_assert_num_queries):
    query = CompiledQuery(_steps_of, slug="\x00slug", minimum=2_000_000_001)
    for slug in ("first", "second"):
        track = TrackFactory(slug=slug)
        for position in range(4 if slug == "first" else 2):
            StepFactory(track=track, position=position)

    for slug, minimum in (("first", 0), ("first", 2), ("second", 1), ("none", 0)):
        with django_assert_num_queries(1):
            row = query.first(slug=slug, minimum=minimum)
        assert row == _steps_of(slug=slug, minimum=minimum).first()


def test_it_is_compiled_once(monkeypatch):
    built = []

    def build(**values):
        built.append(values)
        return _steps_of(**values)

    query = CompiledQuery(build, slug="\x00slug", minimum=2_000_000_001)
    TrackFactory(slug="one")
    assert query.first(slug="one", minimum=0) == ("one", None)
    assert query.first(slug="two", minimum=0) is None
    assert built == [{"slug": "\x00slug", "minimum": 2_000_000_001}]


def test_a_placeholder_the_orm_folds_away_is_refused():
    # Below a positive integer column's range, Django makes "position >= x" a constant.
    query = CompiledQuery(_steps_of, slug="\x00slug", minimum=-(2**62))
    with pytest.raises(ValueError, match="no parameter for \\['minimum'\\]"):
        query.first(slug="first", minimum=0)
