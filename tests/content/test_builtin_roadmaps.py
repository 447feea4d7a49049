import pytest
from django.conf import settings

from apps.content.models import ChoiceGroup, Resource, Step, Track
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load
from apps.progress.models import Status
from apps.progress.selectors import track_completion_for
from apps.progress.services import step_status_set

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


@pytest.fixture
def builtin():
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))


def _group_of(slug: str, *keys: str) -> ChoiceGroup:
    steps = Step.objects.filter(track__slug=slug, key__in=keys).select_related("group")
    groups = {step.group for step in steps}
    assert len(steps) == len(keys) and len(groups) == 1, (slug, keys, groups)
    group = groups.pop()
    assert group is not None, f"{keys} are not a choice group in {slug}"
    return group


def _step_with(slug: str, url_part: str) -> Step:
    return Step.objects.get(track__slug=slug, step_resources__resource__url__contains=url_part)


@pytest.mark.parametrize(
    ("slug", "first", "second"),
    [
        # Imperial's maths specialization or Eduonix's shorter course.
        (
            "ml-foundations-for-healthcare",
            "coursera.org/specializations/mathematics-machine-learning",
            "udemy.com/mathematical-foundation-for-machine-learning-and-ai",
        ),
        # Stanford CS229 instead of the Machine Learning Specialization.
        (
            "ai-ml-engineering-mastery",
            "specializations/machine-learning-introduction",
            "PLoROMvodv4rMiGQp3WXShtMGgzqpfVfbU",
        ),
        # IBM's certificate instead of the Deep Learning Specialization.
        (
            "ai-ml-engineering-mastery",
            "coursera.org/specializations/deep-learning",
            "professional-certificates/ai-engineer",
        ),
    ],
)
def test_builtin_alternatives_are_choice_groups(builtin, learner, slug, first, second):
    one, other = _step_with(slug, first), _step_with(slug, second)
    group = _group_of(slug, one.key, other.key)

    assert group.required == 1
    assert not one.is_optional and not other.is_optional
    # Taking the second one counts like taking the first.
    with_first = track_completion_for(user_id=learner.pk, track_id=one.track_id)
    step_status_set(user=learner, step=other, status=Status.DONE)
    with_second = track_completion_for(user_id=learner.pk, track_id=one.track_id)
    assert with_second.required_done == with_first.required_done + 1


def test_a_learner_who_takes_every_alternative_route_reaches_100_percent(builtin, learner):
    track = Track.objects.get(slug="ai-ml-engineering-mastery")
    taken = {"python-prerequisite", "maths-prerequisites", "alt-cs229", "alt-ibm-pytorch"}
    for step in Step.objects.filter(track=track, key__in=taken):
        step_status_set(user=learner, step=step, status=Status.DONE)

    assert track_completion_for(user_id=learner.pk, track_id=track.pk).percent == 100


def test_hugging_face_library_and_hub_is_a_resource_of_the_six_steps(builtin):
    hub = Resource.objects.get(url="https://huggingface.co")

    assert hub.kind == Resource.Kind.TOOL and hub.provider == "Hugging Face"
    assert "Hugging Face" in _step_with("six-steps-to-ml", "huggingface.co/learn").title
    assert hub.steps.filter(track__slug="six-steps-to-ml").exists()


def test_the_six_steps_courses_are_three_steps(builtin):
    slug = "six-steps-to-ml"
    ml = _step_with(slug, "specializations/machine-learning-introduction")
    karpathy = _step_with(slug, "karpathy.ai/zero-to-hero")
    dl = _step_with(slug, "coursera.org/specializations/deep-learning")

    assert len({ml.pk, karpathy.pk, dl.pk}) == 3
    assert ml.position < karpathy.position < dl.position
    assert list(karpathy.prerequisites.all()) == [ml]
    assert list(dl.prerequisites.all()) == [karpathy]
    # Together they are still the stage's 175 hours.
    assert ml.estimated_minutes + karpathy.estimated_minutes + dl.estimated_minutes == 175 * 60
    # What came after the stage now waits for its last course.
    kaggle = Step.objects.get(track__slug=slug, key="kaggle-challenges")
    assert list(kaggle.prerequisites.all()) == [dl]


def test_fastai_waits_for_the_python_steps(builtin):
    slug = "ml-foundations-for-healthcare"
    fastai = _step_with(slug, "www.fast.ai")
    python = {_step_with(slug, "datacamp.com"), _step_with(slug, "Learn-Python-Hard-Way")}

    assert python <= set(fastai.prerequisites.all())
    # fast.ai is the top-down alternative to the Deep Learning Specialization.
    dl = _step_with(slug, "coursera.org/specializations/deep-learning")
    assert _group_of(slug, fastai.key, dl.key).required == 1
