"""Schemathesis drives every operation of the schema the app serves, as a signed-in
learner, with valid and invalid input, then chains operations statefully (a track from
the list, its steps, their statuses and notes, bulk actions from the export): no 5xx,
and every answer conforms to the schema. Every check Schemathesis has runs (its default
in version 4); the only relaxation is SERVER_CHECKED below, with its reason.

Cases, in CI: at most EXAMPLES_PER_OPERATION for each of the ~20 operations (about 800),
then SCENARIOS stateful scenarios of up to STEPS_PER_SCENARIO calls (at most 300 more):
under two minutes on a busy 2-core machine."""

from collections import Counter
from typing import Any, ClassVar

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import build_track

EXAMPLES_PER_OPERATION = 40
SCENARIOS = 60
STEPS_PER_SCENARIO = 5
# Values a schema cannot describe, so a schema-valid request may rightly get 400 here:
# a time zone must be an IANA name (the list is the machine's tz database), a page
# cursor must be one the server issued (it is opaque), and a note's links must be web
# addresses as Django's URLValidator reads them (http or https, a real host name), which
# no OpenAPI format or pattern says exactly. Every other check still applies to them.
SERVER_CHECKED = {
    ("PATCH", "/api/v1/me/"),
    ("GET", "/api/v1/tracks/"),
    ("PUT", "/api/v1/progress/steps/{step_id}/notes/"),
}
# Schemathesis's WSGI transport does not inflate gzip, which large answers come in.
IDENTITY = {"Accept-Encoding": "identity"}

# Loaded from the app itself (in-process WSGI) when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION)


@schema.auth(refresh_interval=None)
class SessionToken:
    """The signed-in learner's token on every call, Schemathesis's own probes aside (it
    knows the auth is ours, so its ignored-auth check removes or spoils it to see 401)."""

    current: ClassVar[str] = ""

    def get(self, case: Any, ctx: Any) -> str:
        return self.current

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "X-Session-Token": data}


def excluded_checks(operation: Any) -> list[Any]:
    label = (operation.method.upper(), operation.path)
    return [positive_data_acceptance] if label in SERVER_CHECKED else []


@pytest.fixture
def session_token(make_learner, settings):
    # Throttling would answer 429 (documented) instead of exercising the endpoints.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "sync": None},
    }
    build_track(steps=5, resources=5, slug="fuzzed")
    token = make_learner("fuzz@example.com").token
    SessionToken.current = token
    # Django closes the database connection around each request; the test client turns
    # that off, the WSGI handler Schemathesis calls does not, and on PostgreSQL the test's
    # transaction would go with the connection. (After the sign-in above: the test client
    # turns it back on when it is done.)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield token
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
# One learner and one track serve every generated input: that is intended.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_api_conforms_to_its_schema_and_never_fails(case, session_token):
    case.call_and_validate(headers=IDENTITY, excluded_checks=excluded_checks(case.operation))


class LearnerWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Scenarios along the links Schemathesis finds in the schema (ids and slugs one answer
    gives and another operation takes), and the ones the schema declares."""

    calls: ClassVar[Counter[tuple[str, int]]] = Counter()

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": IDENTITY}

    def after_call(self, response: Any, case: Any) -> None:
        super().after_call(response, case)
        self.calls[
            (f"{case.operation.method.upper()} {case.operation.path}", response.status_code)
        ] += 1

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=excluded_checks(case.operation),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_chained_operations_conform_and_never_fail(session_token):
    LearnerWorkflow.calls.clear()
    LearnerWorkflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS_PER_SCENARIO,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Scenarios chain calls: the answers of some feed the next ones.
    assert LearnerWorkflow.calls.total() > SCENARIOS
    print(sorted(LearnerWorkflow.calls.items()))
