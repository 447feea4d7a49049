"""Lighthouse's accessibility, best-practices and SEO scores on the learner's pages.

Lighthouse (pinned in tools/lighthouse/package.json, installed by `make lighthouse`, which
`make test` runs) drives Debian's Chromium against the live server, on a phone (its
default) and on a desktop. A signed-in learner's pages get the session cookie through
Lighthouse's extra headers.
"""

import json
import os
import shutil
import subprocess

import pytest
from django.conf import settings
from django.test import Client

from apps.accounts.services import user_create
from apps.content.models import Track
from apps.content.roadmaps import roadmap_paths
from apps.content.services import roadmaps_load, step_saved_record
from apps.learning.public import public_profile_update
from apps.progress.services import step_note_set, step_status_set
from tests.conftest import CHROMIUM, _need

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIGHTHOUSE_DIR = settings.BASE_DIR / "tools" / "lighthouse"
CATEGORIES = ["accessibility", "best-practices", "seo"]
FORM_FACTORS = ["mobile", "desktop"]
# Fourteen audits take about a minute on a busy two-core machine; this only stops a hang.
LIGHTHOUSE_TIMEOUT_SECONDS = 600


def _lighthouse(runs: list[dict]) -> list[dict]:
    """Each run's category scores and failing audits, from tools/lighthouse/audit.mjs."""
    node = shutil.which("node")
    _need("Node.js", node is not None)
    _need(
        "Lighthouse in tools/lighthouse (make lighthouse)",
        (LIGHTHOUSE_DIR / "node_modules" / "lighthouse").is_dir(),
    )
    finished = subprocess.run(  # noqa: S603 - our own script, our own arguments
        [node, str(LIGHTHOUSE_DIR / "audit.mjs")],
        input=json.dumps({"categories": CATEGORIES, "runs": runs}),
        capture_output=True,
        text=True,
        timeout=LIGHTHOUSE_TIMEOUT_SECONDS,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def _shortfalls(result: dict) -> list[str]:
    """What keeps one run from 100 in every category, in words; empty when nothing does."""
    where = f"{result['url']} ({result['formFactor']})"
    if result["runtimeError"]:
        return [f"{where}: Lighthouse could not audit it: {result['runtimeError']['message']}"]
    problems = [
        f"{where}: {category} scores {round(score * 100)}"
        for category, score in result["scores"].items()
        if score != 1
    ]
    problems += [
        f"{where}:   {audit['category']} audit {audit['id']}: {audit['title']}"
        for audit in result["failing"]
    ]
    if result["finalUrl"] != result["url"]:
        problems.append(f"{where}: audited {result['finalUrl']} instead (a redirect)")
    return problems


def test_the_learners_pages_score_100_in_accessibility_best_practices_and_seo(live_server):
    # Given the built-in roadmaps, and a learner with some progress, a note, a public page
    # and a step that curators changed since the learner started.
    roadmaps_load(paths=roadmap_paths([], settings.STEPWISE_ROADMAPS_DIR))
    learner = user_create(email="lighthouse@example.com", password="a-long-passphrase-9")
    track = Track.objects.get(slug="ai-ml-engineering-mastery")
    steps = list(track.steps.filter(retired_at__isnull=True).order_by("position"))
    step_status_set(user=learner, step=steps[0], status="done")
    step_status_set(user=learner, step=steps[1], status="in_progress")
    step_status_set(user=learner, step=steps[3], status="skipped")
    step_note_set(user=learner, step=steps[1], body="Use the **exercises**.", links=[])
    public_profile_update(user=learner, handle="ada", is_public=True, track_ids=[track.pk])
    step_saved_record(step=steps[2], created=False, changed_fields=["title"])
    browser = Client()
    browser.force_login(learner)
    signed_in = {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}="
        f"{browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    }

    # When Lighthouse audits what a visitor and the learner see, on a phone and a desktop.
    pages = [
        ("/", None),
        ("/tracks/", None),
        (f"/tracks/{track.slug}/", None),
        ("/u/ada/", None),
        ("/accounts/login/", None),
        ("/dashboard/", signed_in),
        (f"/tracks/{track.slug}/", signed_in),
    ]
    runs = [
        {"url": f"{live_server.url}{path}", "formFactor": form_factor, "extraHeaders": headers}
        for form_factor in FORM_FACTORS
        for path, headers in pages
    ]
    results = _lighthouse(runs)

    # Then every page scores 100 in every category, and the learner's were audited signed in.
    assert [(r["url"], r["formFactor"]) for r in results] == [
        (r["url"], r["formFactor"]) for r in runs
    ]
    shortfalls = [problem for result in results for problem in _shortfalls(result)]
    assert not shortfalls, "Lighthouse below 100:\n" + "\n".join(shortfalls)
