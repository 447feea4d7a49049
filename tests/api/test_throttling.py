"""Per-learner and anonymous rates, a stricter one for sync: 429 with Retry-After."""

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
