"""Schemathesis drives every operation of the schema the app serves, as a signed-in
learner, with valid and invalid input: no 5xx, and every answer conforms to the schema."""

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
# Values a schema cannot describe, so a schema-valid request may rightly get 400 here:
# a time zone must be an IANA name (the list is the machine's tz database) and a page
# cursor must be one the server issued (it is opaque). Every other check still applies.
SERVER_CHECKED = {("PATCH", "/api/v1/me/"), ("GET", "/api/v1/tracks/")}

# Loaded from the app itself (in-process WSGI) when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION)


@pytest.fixture
def session_token(make_learner, settings):
    # Throttling would answer 429 (documented) instead of exercising the endpoints.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "sync": None},
    }
    build_track(steps=5, resources=5, slug="fuzzed")
    token = make_learner("fuzz@example.com").token
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
    operation = (case.operation.method.upper(), case.operation.path)
    excluded = [positive_data_acceptance] if operation in SERVER_CHECKED else []
    # Schemathesis's WSGI transport does not inflate gzip, which large answers come in.
    headers = {"X-Session-Token": session_token, "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, excluded_checks=excluded)
