"""Per-learner and anonymous rates, a stricter one for sync: 429 with Retry-After, and the
IETF RateLimit fields on every answer a rate counted."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**scopes: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "sync": None, **scopes},
        }

    return set_rates


def test_anonymous_callers_are_throttled_with_retry_after(anon, rates):
    rates(anon="3/min")

    statuses = [anon.get("tracks/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = anon.get("tracks/")
    assert response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_learner_has_their_own_budget(alice, bob, rates):
    rates(user="2/min")

    assert [alice.get("me/").status_code for _ in range(3)] == [200, 200, 429]
    assert bob.get("me/").status_code == 200


def test_sync_has_a_stricter_budget_than_the_rest(alice, rates):
    rates(user="100/min", sync="2/min")

    syncs = [alice.post("progress/sync/", {"operations": []}).status_code for _ in range(3)]

    assert syncs == [200, 200, 429]
    assert "Retry-After" in alice.post("progress/sync/", {"operations": []})
    assert alice.get("progress/").status_code == 200


def test_answers_carry_the_ietf_ratelimit_fields(alice, rates):
    rates(user="5/min")

    first = alice.get("me/")
    second = alice.get("progress/")

    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("5", "4")
    assert second["RateLimit-Remaining"] == "3"
    assert 0 < int(second["RateLimit-Reset"]) <= 60
    assert second["RateLimit-Policy"] == "5;w=60"


def test_a_throttled_answer_says_nothing_is_left_and_when(anon, rates, track):
    rates(anon="2/min")
    for _ in range(2):
        anon.get("tracks/")

    refused = anon.get("tracks/")

    assert refused.status_code == 429
    assert refused["RateLimit-Remaining"] == "0"
    assert 0 < int(refused["RateLimit-Reset"]) <= 60
    assert 0 < int(refused["Retry-After"]) <= 60


def test_sync_reports_the_tighter_of_its_two_budgets(alice, rates):
    rates(user="100/min", sync="3/min")

    response = alice.post("progress/sync/", {"operations": []})

    assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "2")
    assert response["RateLimit-Policy"] == "100;w=60, 3;w=60"


def test_no_ratelimit_fields_when_no_rate_applies(alice, rates):
    rates()

    assert "RateLimit-Limit" not in alice.get("me/")
