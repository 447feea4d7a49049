"""A partner's mobile app, built on a client generated from the committed schema
(docs/openapi.yaml) by openapi-python-client, runs one learner's whole life against a live
server: sign up with the code from a real SMTP server, browse, tick, sync offline changes,
pull the changes feed, edit the profile, export, log out, and delete the account. Every
answer of /api/v1/ is checked against the schema with additional properties refused."""

import importlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from django.conf import settings
from django.utils import timezone

from tests.api.conftest import build_track
from tests.contract.openapi_check import SchemaCheck
from tests.reminders.smtp import Recorder, smtp_server

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
HEADLESS = "/_allauth/app/v1"
EMAIL, PASSWORD = "partner-app@example.com", "a-partner-passphrase-7"
CLIENT_PACKAGE = "stepwise_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The typed client, generated afresh from the committed schema (never committed)."""
    out = tmp_path_factory.mktemp("generated")
    bin_dir = Path(sys.executable).parent
    subprocess.run(  # noqa: S603 - our own virtualenv's generator on our own schema
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(SCHEMA),
            "--meta",
            "none",
            "--output-path",
            str(out / CLIENT_PACKAGE),
            "--fail-on-warning",
        ],
        check=True,
        capture_output=True,
        # Its post-generation hook formats the code with ruff, found on PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
    )
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.split(".")[0] == CLIENT_PACKAGE]:
            del sys.modules[name]


def generated(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{module}")


@pytest.fixture
def mailbox(settings: Any) -> Iterator[Recorder]:
    """Email leaves through SMTP to a real local server, as in production."""
    recorder = Recorder()
    with smtp_server(recorder) as port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield recorder


def code_from(recorder: Recorder) -> str:
    assert recorder.messages, "no email arrived"
    message = recorder.messages[-1]
    assert message["To"] == EMAIL
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"\n\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*\n", body)
    assert match, body
    return match.group(1)


class Auth:
    """allauth headless's app client, by plain HTTP (its endpoints are not in the API
    schema: allauth documents them in its own)."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=f"{base}{HEADLESS}", timeout=30)

    def call(self, method: str, path: str, token: str | None = None, **body: str) -> Any:
        headers = {"X-Session-Token": token} if token else {}
        response = self.http.request(method, path, json=body or None, headers=headers)
        return response.status_code, response.json()


def cursor_of(next_url: str | None) -> str | None:
    if not next_url:
        return None
    return parse_qs(urlsplit(next_url).query)["cursor"][0]


def test_a_generated_client_runs_a_learners_whole_life(
    client_package, live_server, mailbox, settings
):
    settings.API_TRACKS_PAGE_SIZE = 2
    tracks = [build_track(steps=4, resources=3, slug=f"contract-{n}") for n in range(5)]
    build_track(steps=1, slug="contract-draft", is_published=False)
    api = lambda module: generated(client_package, f"api.{module}")  # noqa: E731
    models = generated(client_package, "models")
    check = SchemaCheck(yaml.safe_load(SCHEMA.read_text()))
    auth = Auth(live_server.url)

    def client(token: str) -> Any:
        return client_package.AuthenticatedClient(
            base_url=live_server.url,
            token=token,
            prefix="",
            auth_header_name="X-Session-Token",
            raise_on_unexpected_status=True,
            timeout=httpx.Timeout(30),
            httpx_args={"event_hooks": {"response": [check]}},
        )

    # 1. Sign up: the flow waits for the code sent by email; the app sends it back.
    status, body = auth.call("POST", "/auth/signup", email=EMAIL, password=PASSWORD)
    assert status == 401
    assert {"id": "verify_email", "is_pending": True} in body["data"]["flows"]
    pending = body["meta"]["session_token"]
    assert api("me.me_retrieve").sync_detailed(client=client(pending)).status_code == 401
    status, body = auth.call("POST", "/auth/email/verify", token=pending, key=code_from(mailbox))
    assert status == 200, body
    token = body["meta"].get("session_token", pending)
    app = client(token)
    me = api("me.me_retrieve").sync_detailed(client=app)
    assert (me.status_code, me.parsed.email) == (200, EMAIL)

    # 2. Every published track, a page at a time by cursor.
    slugs, cursor, pages = [], None, 0
    while True:
        page = api("tracks.tracks_list").sync_detailed(
            client=app, **({"cursor": cursor} if cursor else {})
        )
        assert page.status_code == 200
        slugs += [t.slug for t in page.parsed.results]
        pages += 1
        cursor = cursor_of(page.parsed.next_)
        if cursor is None:
            break
    assert slugs == [t.slug for t in tracks]
    assert pages == 3

    # Open a track; the same again with its ETag is 304, with no body.
    retrieve = api("tracks.tracks_retrieve")
    opened = retrieve.sync_detailed("contract-0", client=app)
    assert opened.status_code == 200
    etag = opened.headers["ETag"]
    steps = [s.id for s in opened.parsed.steps]
    assert len(steps) == 4
    assert {s.status for s in opened.parsed.steps} == {models.StepStatusEnum.TODO}
    again = retrieve.sync_detailed("contract-0", client=app, if_none_match=etag)
    assert (again.status_code, again.content) == (304, b"")

    # 3. Statuses online: PUT; then the track has changed for this learner.
    put = api("progress.progress_step_update")
    done = put.sync_detailed(
        steps[0], client=app, body=models.StepStatusInputRequest(status=models.StepStatusEnum.DONE)
    )
    assert (done.status_code, done.parsed.status) == (200, models.StepStatusEnum.DONE)
    assert retrieve.sync_detailed("contract-0", client=app, if_none_match=etag).status_code == 200

    # Offline: a queue of changes, then synced; the answer to it is lost, so it is sent
    # again, with one op_id reused by mistake, a change older than the server's, one
    # from a clock far ahead, an unknown step and a status from a newer app.
    sync = api("progress.progress_sync")
    now = timezone.now()

    def operation(step: int, status: str, at: Any, op_id: uuid.UUID | None = None) -> Any:
        return models.SyncOperationRequest(
            op_id=op_id or uuid.uuid4(), step=step, status=status, occurred_at=at
        )

    queue = [
        operation(steps[1], "in_progress", now - timedelta(minutes=30)),
        operation(steps[1], "done", now - timedelta(minutes=20)),
        operation(steps[2], "skipped", now - timedelta(minutes=10)),
        operation(steps[2], "skipped", now - timedelta(minutes=5)),  # changes nothing
    ]
    first = sync.sync_detailed(client=app, body=models.SyncInputRequest(operations=queue))
    assert first.status_code == 200
    assert [(r.result.value, r.changed) for r in first.parsed.results] == [
        ("applied", True),
        ("applied", True),
        ("applied", True),
        ("applied", False),
    ]
    # Meanwhile, on the web, step 3 moves on: the replayed queue must not read as lost.
    put.sync_detailed(
        steps[2], client=app, body=models.StepStatusInputRequest(status=models.StepStatusEnum.DONE)
    )
    replay = [
        *queue,
        operation(steps[3], "done", now, op_id=queue[0].op_id),
        operation(steps[0], "in_progress", now - timedelta(days=1)),
        operation(steps[3], "done", now + timedelta(hours=1)),
        operation(2**40, "done", now - timedelta(minutes=1)),
        operation(steps[3], "mastered", now - timedelta(minutes=1)),
    ]
    second = sync.sync_detailed(client=app, body=models.SyncInputRequest(operations=replay))
    assert second.status_code == 200
    assert [
        (r.result.value, r.reason.value if r.reason else None) for r in second.parsed.results
    ] == [
        *[("duplicate", None)] * 4,
        ("rejected", "op_id_reused"),
        ("stale", None),
        ("rejected", "future_timestamp"),
        ("rejected", "unknown_step"),
        ("rejected", "unknown_status"),
    ]
    assert {s.step: s.status.value for s in second.parsed.statuses} == {
        steps[0]: "done",
        steps[1]: "done",
        steps[2]: "done",
        steps[3]: "todo",
    }

    # The changes feed: every change of this learner, from every device, in order.
    feed = api("progress.progress_changes").sync_detailed(client=app, since=0)
    assert feed.status_code == 200
    assert [(c.step, c.to_status.value, c.source.value) for c in feed.parsed.changes] == [
        (steps[0], "done", "api"),
        (steps[1], "in_progress", "api"),
        (steps[1], "done", "api"),
        (steps[2], "skipped", "api"),
        (steps[2], "done", "api"),
    ]
    assert feed.parsed.has_more is False
    assert feed.parsed.cursor == second.parsed.cursor

    # 4. The profile, then everything Stepwise holds, as JSON.
    patched = api("me.me_update").sync_detailed(
        client=app,
        body=models.PatchedMeUpdateRequest(display_name="Partner App", timezone="Asia/Tokyo"),
    )
    assert (patched.status_code, patched.parsed.display_name) == (200, "Partner App")
    export = api("me.me_export").sync_detailed(client=app)
    assert export.status_code == 200
    assert export.parsed.profile.timezone == "Asia/Tokyo"
    assert len(export.parsed.events) == 5

    # 5. Log out: the token stops working at once (a documented 401).
    assert auth.call("DELETE", "/auth/session", token=token)[0] == 401
    refused = api("me.me_retrieve").sync_detailed(client=app)
    assert (refused.status_code, refused.parsed.error.code) == (401, "authentication_failed")

    # Sign in again; deleting asks for the password first, then deletes everything.
    status, body = auth.call("POST", "/auth/login", email=EMAIL, password=PASSWORD)
    assert status == 200
    app = client(body["meta"]["session_token"])
    delete = api("me.me_delete")
    not_yet = delete.sync_detailed(client=app)
    assert (not_yet.status_code, not_yet.parsed.error.code) == (401, "reauthentication_required")
    status, _ = auth.call(
        "POST", "/auth/reauthenticate", token=body["meta"]["session_token"], password=PASSWORD
    )
    assert status == 200
    assert delete.sync_detailed(client=app).status_code == 204
    assert auth.call("POST", "/auth/login", email=EMAIL, password=PASSWORD)[0] == 400

    # Every operation the session used answered as documented.
    assert {(m, t) for m, t, _ in check.checked} == {
        ("GET", "/api/v1/me/"),
        ("PATCH", "/api/v1/me/"),
        ("DELETE", "/api/v1/me/"),
        ("GET", "/api/v1/me/export/"),
        ("GET", "/api/v1/tracks/"),
        ("GET", "/api/v1/tracks/{slug}/"),
        ("PUT", "/api/v1/progress/steps/{step_id}/"),
        ("POST", "/api/v1/progress/sync/"),
        ("GET", "/api/v1/progress/changes/"),
    }
