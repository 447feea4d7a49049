import factory
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Resource, Step, StepResource, Track
from apps.progress.models import Status, StepProgress


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    display_name = factory.Faker("first_name")
    timezone = "UTC"
    password = factory.PostGenerationMethodCall("set_password", "a-good-passphrase")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    slug = factory.Sequence(lambda n: f"track-{n}")
    title = factory.Sequence(lambda n: f"Track {n}")
    summary = "A track for tests."
    level = Track.Level.BEGINNER
    goal = "Build with LLMs"
    is_published = True
    position = factory.Sequence(int)


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    track = factory.SubFactory(TrackFactory)
    key = factory.Sequence(lambda n: f"step-{n}")
    title = factory.Sequence(lambda n: f"Step {n}")
    position = factory.Sequence(int)
    estimated_minutes = 60
    is_optional = False


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    url = factory.Sequence(lambda n: f"https://example.com/resource-{n}")
    title = factory.Sequence(lambda n: f"Resource {n}")
    kind = Resource.Kind.COURSE
    provider = "Example"
    cost = Resource.Cost.FREE


class StepResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StepResource

    step = factory.SubFactory(StepFactory)
    resource = factory.SubFactory(ResourceFactory)
    position = factory.Sequence(int)


class StepProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StepProgress

    user = factory.SubFactory(UserFactory)
    step = factory.SubFactory(StepFactory)
    status = Status.DONE
    status_changed_at = factory.LazyFunction(timezone.now)
