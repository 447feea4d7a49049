"""The admin as a curator meets it: durations in words, ordering, beat hidden, tools linked."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.content.forms import duration_parse, duration_text
from apps.content.models import Step
from tests.content.admin_forms import step_form_data
from tests.factories import ResourceFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("45 min", 45),
        ("12 h", 720),
        ("1 h 30 min", 90),
        ("about 10 hours", 600),
        ("2 weeks", 2 * 5 * 60),  # STEPWISE_IMPORT_HOURS_PER_WEEK study hours a week
        ("3 days", 3 * 2 * 60),  # STEPWISE_IMPORT_HOURS_PER_DAY
    ],
)
def test_a_duration_is_read_as_a_curator_writes_it(text, minutes):
    assert duration_parse(text) == minutes
    assert duration_parse(duration_text(minutes)) == minutes  # shown back exactly


@pytest.mark.parametrize("text", ["soon", "12 h please", "-5", "h"])
def test_a_duration_that_is_not_one_says_so(text):
    with pytest.raises(ValidationError, match="is not a duration"):
        duration_parse(text)


def test_the_step_form_shows_and_takes_durations(staff_client):
    step = StepFactory(estimated_minutes=5760)
    url = reverse("admin:content_step_change", args=[step.pk])

    page = staff_client.get(url).content.decode()
    assert 'value="96 h"' in page and 'value="5760"' not in page

    response = staff_client.post(url, step_form_data(step, estimated_minutes="12 h"))
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.estimated_minutes == 720

    response = staff_client.post(url, step_form_data(step, estimated_minutes="a while"))
    assert response.status_code == 200
    assert "is not a duration" in response.content.decode()
    step.refresh_from_db()
    assert step.estimated_minutes == 720

    listing = staff_client.get(reverse("admin:content_step_changelist")).content.decode()
    assert "12 h" in listing


def test_the_track_form_orders_steps_by_drag_or_keyboard_with_readable_inputs(staff_client):
    step = StepFactory(title="A rather long step title that needs room")
    page = staff_client.get(reverse("admin:content_track_change", args=[step.track_id]))
    html = page.content.decode()

    assert "stepwise/admin/step_order" in html  # drag and arrow-key ordering
    assert "sortable-steps" in html and 'class="sortable-position"' in html
    assert 'size="48"' in html  # the title can be read whole
    assert "stepwise/admin/admin" in html  # inlines scroll on a phone, URLs wrap


def test_the_track_inline_saves_durations_and_new_order(staff_client):
    first = StepFactory(position=1, key="a", estimated_minutes=60)
    second = StepFactory(track=first.track, position=2, key="b", estimated_minutes=60)
    track = first.track
    data = {
        "slug": track.slug,
        "title": track.title,
        "summary": track.summary,
        "description": track.description,
        "level": track.level,
        "goal": track.goal,
        "position": track.position,
        "is_published": "on",
        "choice_groups-TOTAL_FORMS": 0,
        "choice_groups-INITIAL_FORMS": 0,
        "steps-TOTAL_FORMS": 2,
        "steps-INITIAL_FORMS": 2,
    }
    for n, (step, position, time) in enumerate(((first, 2, "2 h"), (second, 1, "30 min"))):
        data.update(
            {
                f"steps-{n}-id": step.pk,
                f"steps-{n}-track": track.pk,
                f"steps-{n}-position": position,
                f"steps-{n}-key": step.key,
                f"steps-{n}-title": step.title,
                f"steps-{n}-estimated_minutes": time,
            }
        )

    response = staff_client.post(reverse("admin:content_track_change", args=[track.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(
        Step.objects.filter(track=track)
        .order_by("position")
        .values_list("key", "estimated_minutes")
    ) == [
        ("b", 30),
        ("a", 120),
    ]


def test_celery_beat_models_are_for_superusers_only(staff_client, client):
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "Periodic tasks" not in index and "Clocked" not in index
    for name in ("clockedschedule", "solarschedule", "intervalschedule", "periodictask"):
        assert staff_client.get(f"/admin/django_celery_beat/{name}/").status_code == 403

    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    assert "Periodic tasks" in client.get(reverse("admin:index")).content.decode()
    assert client.get("/admin/django_celery_beat/clockedschedule/").status_code == 200


def test_the_admin_index_links_the_curator_tools(staff_client):
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "Curator tools" in index
    assert f'href="{reverse("linkhealth:dashboard")}"' in index


def test_link_health_says_how_to_check_links_when_none_was(staff_client):
    from apps.linkhealth.models import ResourceHealth
    from apps.linkhealth.outcomes import Outcome

    resource = ResourceFactory()
    page = staff_client.get(reverse("linkhealth:dashboard")).content.decode()
    assert "No link has been checked yet" in page and "manage.py check_links" in page

    ResourceHealth.objects.create(resource=resource, health=Outcome.OK)
    page = staff_client.get(reverse("linkhealth:dashboard")).content.decode()
    assert "No link has been checked yet" not in page


def test_the_track_history_says_who_changed_what_and_when(staff_client):
    from apps.content.models import TrackChange

    step = StepFactory(title="Old title")
    url = reverse("admin:content_step_change", args=[step.pk])
    response = staff_client.post(url, step_form_data(step, title="New title"))
    assert response.status_code == 302

    change = TrackChange.objects.get(track=step.track)
    curator = response.wsgi_request.user
    assert (change.kind, change.detail, change.changed_by) == ("step_changed", "title", curator)
    page = staff_client.get(reverse("admin:content_track_change", args=[step.track_id]))
    history = reverse("admin:content_trackchange_changelist")
    assert f"{history}?track__id__exact={step.track_id}" in page.content.decode()
    listing = staff_client.get(history, {"track__id__exact": step.track_id}).content.decode()
    assert curator.email in listing and "New title" in listing


def test_a_change_from_a_roadmap_file_says_so(staff_client):
    from apps.content.models import TrackChange
    from apps.content.services import steps_remove

    step = StepFactory()
    steps_remove(step_ids=[step.pk], source=TrackChange.Source.ROADMAP)

    listing = staff_client.get(reverse("admin:content_trackchange_changelist")).content.decode()
    assert TrackChange.objects.get().changed_by is None
    assert "Roadmap file" in listing
