from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail, signing
from django.urls import reverse

from apps.reminders.models import ReminderDelivery, ReminderPreferences
from apps.reminders.services import reminders_due_schedule
from apps.reminders.tokens import KEEP_ON_SALT, UNSUBSCRIBE_SALT, token_make
from tests.reminders.test_selection import SEVEN_IST

pytestmark = pytest.mark.django_db
URL = "/reminders/preferences/"


def test_the_preferences_page_is_named_and_needs_a_login(client):
    assert reverse("reminders:preferences") == URL
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_preferences_page_shows_the_defaults(client, make_learner, django_assert_num_queries):
    learner = make_learner(timezone="Asia/Kolkata")
    client.force_login(learner)

    # 1 session; 2 user; 3 preferences; 4 paused?
    with django_assert_num_queries(4):
        response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Reminders · Stepwise</title>" in page
    assert "Asia/Kolkata" in page
    assert 'value="weekly" selected' in page
    assert "csrfmiddlewaretoken" in page


def test_saving_the_preferences(client, make_learner):
    learner = make_learner()
    client.force_login(learner)

    response = client.post(
        URL,
        {
            "reminder_frequency": "weekly",
            "reminder_weekday": "0",
            "reminder_hour": "7",
            "weekly_goal": "5",
        },
    )

    assert response.status_code == 302
    saved = ReminderPreferences.objects.get(user=learner)
    assert (saved.reminder_weekday, saved.reminder_hour, saved.weekly_goal) == (0, 7, 5)
    response = client.post(
        URL,
        {"reminder_frequency": "daily", "reminder_weekday": "0", "reminder_hour": ""},
    )
    saved.refresh_from_db()
    assert (saved.reminder_frequency, saved.reminder_hour, saved.weekly_goal) == (
        "daily",
        None,
        None,
    )


def test_bad_values_show_form_errors_and_change_nothing(client, make_learner):
    learner = make_learner(reminder_hour=9)
    client.force_login(learner)

    response = client.post(
        URL,
        {
            "reminder_frequency": "hourly",
            "reminder_weekday": "9",
            "reminder_hour": "25",
            "weekly_goal": "0",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {
        "reminder_frequency",
        "reminder_weekday",
        "reminder_hour",
        "weekly_goal",
    }
    assert "Select a valid choice" in response.content.decode()
    assert ReminderPreferences.objects.get(user=learner).reminder_hour == 9


def test_the_paused_state_is_shown(client, make_learner):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    for n in range(4):
        reminders_due_schedule(now=SEVEN_IST + timedelta(days=n))
    client.force_login(learner)

    assert "Your reminders are paused" in client.get(URL).content.decode()


# --- signed links -----------------------------------------------------------------------


def test_unsubscribe_get_confirms_and_post_unsubscribes_without_a_login(client, make_learner):
    learner = make_learner()
    url = reverse(
        "reminders:unsubscribe", args=[token_make(user_id=learner.pk, salt=UNSUBSCRIBE_SALT)]
    )

    page = client.get(url)
    assert page.status_code == 200
    assert "Unsubscribe from reminders?" in page.content.decode()
    assert not ReminderPreferences.objects.filter(user=learner).exists()

    done = client.post(url)  # no CSRF token: a mail client's one-click POST
    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    saved = ReminderPreferences.objects.get(user=learner)
    assert saved.reminder_frequency == "off"
    assert saved.unsubscribed_at is not None


def _tampered(token: str) -> str:
    value, rest = token.split(":", 1)
    return f"{int(value) + 1}:{rest}"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_changes_nothing_and_says_so(client, make_learner, method):
    learner = make_learner()
    other = make_learner()
    token = _tampered(token_make(user_id=learner.pk, salt=UNSUBSCRIBE_SALT))
    assert token.startswith(f"{other.pk}:")

    response = getattr(client, method)(reverse("reminders:unsubscribe", args=[token]))

    assert response.status_code == 400
    assert "This link is not valid; nothing was changed." in response.content.decode()
    assert not ReminderPreferences.objects.filter(reminder_frequency="off").exists()


def test_a_token_for_another_purpose_is_refused(client, make_learner):
    learner = make_learner()
    token = token_make(user_id=learner.pk, salt=KEEP_ON_SALT)

    response = client.post(reverse("reminders:unsubscribe", args=[token]))

    assert response.status_code == 400
    assert not ReminderPreferences.objects.filter(reminder_frequency="off").exists()


def test_an_expired_token_changes_nothing_and_says_so(client, make_learner, settings):
    learner = make_learner()
    settings.REMINDERS_TOKEN_MAX_AGE_DAYS = 60
    long_ago = signing.time.time() - 61 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        token = token_make(user_id=learner.pk, salt=UNSUBSCRIBE_SALT)

    response = client.post(reverse("reminders:unsubscribe", args=[token]))

    assert response.status_code == 400
    assert "This link has expired; nothing was changed." in response.content.decode()
    assert not ReminderPreferences.objects.filter(reminder_frequency="off").exists()


def test_keep_reminders_on_from_the_paused_email(
    client, make_learner, django_capture_on_commit_callbacks
):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            reminders_due_schedule(now=SEVEN_IST + timedelta(days=n))
    paused_email = mail.outbox[-1]
    link = next(w for w in paused_email.body.split() if "/reminders/keep-on/" in w)
    path = link.split("127.0.0.1:8000", 1)[-1]

    assert client.post(path).status_code == 200

    assert ReminderPreferences.objects.get(user=learner).kept_on_at is not None


# --- admin ------------------------------------------------------------------------------


def test_staff_send_themselves_a_test_reminder(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:reminders_reminderdelivery_send_test"))

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject.startswith("[Test]")
    assert ReminderDelivery.objects.get().status == "sent"


def test_the_deliveries_changelist_filters_by_kind_and_status(
    admin_client, make_learner, django_assert_num_queries
):
    for _ in range(5):
        make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    reminders_due_schedule(now=SEVEN_IST)
    ReminderDelivery.objects.filter(pk=ReminderDelivery.objects.first().pk).update(
        status="failed", error="SMTPRecipientsRefused: nope"
    )
    url = reverse("admin:reminders_reminderdelivery_changelist")

    # 1 session; 2 user; 3 filtered count; 4 total count; 5 the page with its users;
    # 6-7 the date hierarchy (range, then days).
    with django_assert_num_queries(7):
        response = admin_client.get(url, {"kind__exact": "reminder", "status__exact": "failed"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert "SMTPRecipientsRefused: nope" in response.content.decode()
    assert "Send me a test reminder" in response.content.decode()


def test_the_preferences_admin_lists_learners(admin_client, make_learner):
    make_learner(reminder_hour=7)
    response = admin_client.get(reverse("admin:reminders_reminderpreferences_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
