"""The OpenAPI schema: valid, committed and in step with the code; Swagger UI served locally."""

import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from openapi_spec_validator import validate as validate_spec

from tests.contract.openapi_check import SchemaCheck

pytestmark = pytest.mark.django_db

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    # --validate --fail-on-warn: any warning or an invalid schema fails the command.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(generated), stdout=StringIO()
    )
    assert generated.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml is out of date: run `make schema` and commit it."
    )


def test_schema_documents_the_session_token_and_every_error(anon):
    response = anon.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi"})
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)

    token = schema["components"]["securitySchemes"]["SessionToken"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "X-Session-Token")
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/tracks/",
        "/api/v1/tracks/{slug}/",
        "/api/v1/tracks/{slug}/changes/",
        "/api/v1/tracks/{slug}/changes/seen/",
        "/api/v1/progress/",
        "/api/v1/progress/steps/{step_id}/",
        "/api/v1/progress/sync/",
        "/api/v1/progress/changes/",
        "/api/v1/progress/steps/{step_id}/notes/",
        "/api/v1/progress/suggestions/",
        "/api/v1/progress/pace/",
        "/api/v1/progress/tracks/{slug}/bulk/",
        "/api/v1/progress/bulk/{action_id}/undo/",
        "/api/v1/me/",
        "/api/v1/me/export/",
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)


def test_swagger_ui_loads_its_assets_from_this_server(anon):
    response = anon.get("/api/docs/", headers={"Accept": "text/html"})

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any("swagger-ui" in url for url in urls)
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external asset: {url}"
        if url.startswith(settings.STATIC_URL):
            assert finders.find(url.removeprefix(settings.STATIC_URL)), url
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html


# --- a strict reading of the schema ---------------------------------------------------------


def served_schema(client) -> dict:
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi"})
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def nodes(node, where=""):
    """Every mapping in the document, with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nodes(value, f"{where}/{index}")


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_schema_is_valid_openapi_3_0_3_for_a_strict_validator(anon):
    schema = served_schema(anon)

    validate_spec(schema)  # openapi-spec-validator, OAS 3.0
    # OAS 3.0.3: nullable has no effect without a type beside it (Redocly's
    # nullable-type-sibling); a nullable reference must be oneOf with a typed null.
    untyped = [where for where, node in nodes(schema) if "nullable" in node and "type" not in node]
    assert untyped == []
    assert schema["servers"]


def test_every_operation_is_summarized_and_every_success_described(anon):
    schema = served_schema(anon)

    for name, operation in operations(schema):
        assert operation.get("summary"), name
        for code, response in operation["responses"].items():
            assert response.get("description"), (name, code)


def test_every_answer_documents_its_caching_and_429_its_wait(anon):
    schema = served_schema(anon)
    headers = schema["components"]["headers"]

    for name, operation in operations(schema):
        for code, response in operation["responses"].items():
            documented = {
                header: headers[ref["$ref"].rsplit("/", 1)[1]]
                for header, ref in response.get("headers", {}).items()
            }
            assert documented["Cache-Control"]["required"], (name, code)
            if code == "429":
                assert documented["Retry-After"]["required"], name
                assert "RateLimit-Remaining" in documented, name
    track = schema["paths"]["/api/v1/tracks/{slug}/"]["get"]["responses"]
    assert set(track["200"]["headers"]) >= {"ETag", "Cache-Control", "RateLimit-Limit"}
    assert headers["CacheControlPersonal"]["schema"]["enum"] == ["private, no-store"]


def test_fields_always_sent_are_required(anon):
    schema = served_schema(anon)

    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") or "properties" not in component:
            continue  # what clients send may leave fields out
        assert set(component.get("required", [])) == set(component["properties"]), name


def test_times_are_date_times_and_the_time_zone_a_name(anon):
    schema = served_schema(anon)
    components = schema["components"]["schemas"]

    for name, component in components.items():
        for field, prop in component.get("properties", {}).items():
            if field.endswith("_at") or field == "date_joined":
                assert prop.get("format") == "date-time", (name, field)
    for name in ("Me", "PatchedMeUpdateRequest"):
        pattern = components[name]["properties"]["timezone"]["pattern"]
        assert re.fullmatch(pattern, "America/Argentina/Buenos_Aires")
        assert re.fullmatch(pattern, "Etc/GMT+5")
        assert not re.fullmatch(pattern, "0")


def test_the_track_cursor_is_opaque(anon):
    schema = served_schema(anon)

    parameters = schema["paths"]["/api/v1/tracks/"]["get"]["parameters"]
    cursor = next(p for p in parameters if p["name"] == "cursor")
    assert "Opaque" in cursor["description"]
    assert cursor["schema"]["pattern"]


def test_the_examples_match_their_schemas(anon):
    schema = served_schema(anon)
    check = SchemaCheck(schema)
    seen = 0

    for name, operation in operations(schema):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media in body.get("content", {}).values():
                for title, example in media.get("examples", {}).items():
                    check.validate(example["value"], media["schema"], f"{name} {title}")
                    seen += 1
    assert seen >= 3


def test_real_answers_match_the_schema_with_nothing_undocumented(anon, alice, track):
    # Given an anonymous visitor and a learner with some progress
    check = SchemaCheck(served_schema(anon))
    step = track.steps.first()
    assert alice.put(f"progress/steps/{step.pk}/", {"status": "done"}).status_code == 200
    calls = [
        (anon, "get", f"tracks/{track.slug}/", None),  # progress: null, status: null
        (anon, "get", "tracks/", None),
        (alice, "get", f"tracks/{track.slug}/", None),
        (alice, "get", "me/", None),
        (alice, "patch", "me/", {"weekly_goal": 3}),
        (alice, "get", "me/export/", None),
        (alice, "get", "progress/", None),
        (alice, "get", "progress/changes/", None),
        (alice, "post", "progress/sync/", {"operations": []}),
        (alice, "patch", "me/", {"weekly_goal": "5"}),
        (anon, "get", "me/", None),
    ]
    for client, method, path, body in calls:
        # When each is asked
        response = getattr(client, method)(path, body) if body else getattr(client, method)(path)
        # Then its status, headers and body are the documented ones, and nothing more
        template, operation = check.operation(method.upper(), f"/api/v1/{path}")
        where = f"{method.upper()} {template} -> {response.status_code}"
        documented = operation["responses"][str(response.status_code)]
        headers = schema_headers(check.spec, documented)
        for name, header in headers.items():
            if header.get("required"):
                assert name in response, f"{where}: no {name}"
            if name in response and "enum" in header["schema"]:
                assert response[name] in header["schema"]["enum"], where
        check.validate(response.json(), documented["content"]["application/json"]["schema"], where)


def schema_headers(spec, response) -> dict:
    return {
        name: spec["components"]["headers"][ref["$ref"].rsplit("/", 1)[1]]
        for name, ref in response.get("headers", {}).items()
    }
