"""The OpenAPI schema: valid, committed and in step with the code; Swagger UI served locally."""

import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

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
