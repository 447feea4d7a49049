"""GET/PATCH/DELETE me/ and GET me/export/."""

import pytest

from apps.accounts.models import User
from apps.progress.models import Status
from apps.progress.services import step_status_set
from apps.reminders.models import ReminderPreferences
from tests.api.conftest import HEADLESS, PASSWORD

pytestmark = pytest.mark.django_db


def test_me_shows_profile_and_reminder_preferences(alice, django_assert_num_queries):
    # 1-3 session (exists, load) and user; 4 reminder preferences
    with django_assert_num_queries(4):
        body = alice.get("me/").json()
    assert body == {
        "email": "alice@example.com",
        "display_name": "",
        "timezone": "UTC",
        "date_joined": body["date_joined"],
        "reminder_frequency": "weekly",
        "reminder_weekday": 0,
        "reminder_hour": None,
        "weekly_goal": None,
    }


def test_patch_changes_profile_and_reminders(alice):
    response = alice.patch(
        "me/",
        {
            "display_name": "  Ada  ",
            "timezone": "Europe/Paris",
            "reminder_frequency": "daily",
            "reminder_hour": 7,
            "weekly_goal": 5,
            "email": "ignored@example.com",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["display_name"], body["timezone"], body["email"]) == (
        "Ada",
        "Europe/Paris",
        "alice@example.com",
    )
    prefs = ReminderPreferences.objects.get(user=alice.user)
    assert (prefs.reminder_frequency, prefs.reminder_hour, prefs.weekly_goal) == ("daily", 7, 5)
    assert alice.get("me/").json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"reminder_frequency": "hourly"}, "reminder_frequency"),
        ({"reminder_weekday": 7}, "reminder_weekday"),
        ({"reminder_hour": 24}, "reminder_hour"),
        ({"reminder_hour": "seven"}, "reminder_hour"),
        ({"weekly_goal": 0}, "weekly_goal"),
        ({"weekly_goal": 10_000}, "weekly_goal"),
        ({"display_name": "x" * 101}, "display_name"),
    ],
)
def test_patch_with_a_bad_value_is_400_and_changes_nothing(alice, payload, field):
    # A good change alongside the bad one must not be kept either.
    response = alice.patch("me/", {"display_name": "Changed", **payload})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    alice.user.refresh_from_db()
    assert alice.user.display_name == ""
    assert alice.user.timezone == "UTC"
    assert not ReminderPreferences.objects.filter(user=alice.user).exists()


def test_a_bad_reminder_value_does_not_keep_the_new_time_zone(alice, settings):
    settings.REMINDERS_WEEKLY_GOAL_MAX = 10

    response = alice.patch("me/", {"timezone": "Asia/Tokyo", "weekly_goal": 11})

    assert response.status_code == 400
    assert "at most 10 steps" in response.json()["error"]["fields"]["weekly_goal"][0]
    alice.user.refresh_from_db()
    assert alice.user.timezone == "UTC"


def test_export_has_everything_about_the_learner(alice, track):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)

    body = alice.get("me/export/").json()

    assert body["profile"]["email"] == "alice@example.com"
    assert body["enrollments"][0]["track"] == "llm-basics"
    assert body["step_statuses"][0]["status"] == "done"
    assert body["events"][0]["from"] == "todo"
    assert body["events"][0]["to"] == "done"


def test_delete_needs_a_fresh_password_confirmation(alice, track):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)

    refused = alice.delete("me/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "reauthentication_required"
    assert User.objects.filter(pk=alice.user.pk).exists()

    wrong = alice.client.post(
        f"{HEADLESS}/auth/reauthenticate",
        {"password": "not-it"},
        content_type="application/json",
        headers={"X-Session-Token": alice.token},
    )
    assert wrong.status_code == 400
    assert alice.delete("me/").status_code == 401

    confirmed = alice.client.post(
        f"{HEADLESS}/auth/reauthenticate",
        {"password": PASSWORD},
        content_type="application/json",
        headers={"X-Session-Token": alice.token},
    )
    assert confirmed.status_code == 200
    assert alice.delete("me/").status_code == 204
    assert not User.objects.filter(pk=alice.user.pk).exists()
    assert alice.get("me/").status_code == 401


def test_delete_reauthentication_expires(alice, settings):
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 0
    alice.client.post(
        f"{HEADLESS}/auth/reauthenticate",
        {"password": PASSWORD},
        content_type="application/json",
        headers={"X-Session-Token": alice.token},
    )
    assert alice.delete("me/").status_code == 401
