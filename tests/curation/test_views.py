import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.curation.models import RefreshState
from apps.curation.services import curation_refresh
from apps.progress.models import Status
from tests.curation.conftest import study
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

DASHBOARD = "/staff/curation/"
PAGES = [
    ("get", DASHBOARD),
    ("get", "/staff/curation/tracks.csv"),
    ("get", "/staff/curation/steps.csv"),
    ("get", "/staff/curation/resources.csv"),
    ("get", "/staff/curation/weeks.csv"),
    ("post", "/staff/curation/refresh/"),
]


def _csv(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_visitors_and_learners_are_sent_to_sign_in(client, learner, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]

    client.force_login(learner)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not RefreshState.objects.exists()


def test_staff_see_the_track_funnel_and_resources(staff_client, world):
    curation_refresh()

    page = staff_client.get(DASHBOARD).content.decode()

    assert "Machine learning" in page
    assert "Python" in page and "(most stall)" in page and "(most skip)" in page
    assert "Old step" not in page  # retired
    assert "PyTorch <small>(one choice of “Pick one”)</small>" in page
    assert "Ship it <small>(optional)</small>" in page
    assert "Shared" in page and "broken" in page
    assert "2 (1 open)" in page
    assert "<svg" in page and "<script" not in page


def test_the_nav_and_the_admin_index_link_to_the_dashboard(client, db):
    # A staff member outside the Curators group, with no model permission.
    client.force_login(UserFactory(is_staff=True))
    assert f'href="{DASHBOARD}"' in client.get("/tracks/").content.decode()
    assert f'href="{DASHBOARD}"' in client.get(reverse("admin:index")).content.decode()


def test_step_titles_are_escaped_in_the_svg(staff_client, db):
    track = TrackFactory(slug="t")
    step = StepFactory(track=track, key="x", title='<script>alert("x")</script>')
    study(UserFactory(), step, Status.SKIPPED)
    curation_refresh()

    page = staff_client.get(f"{DASHBOARD}?track=t").content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_an_unknown_track_is_not_found(staff_client, db):
    curation_refresh()
    assert staff_client.get(f"{DASHBOARD}?track=nope").status_code == 404


def test_csv_exports_hold_each_table(staff_client, world):
    curation_refresh()

    tracks = _csv(staff_client.get("/staff/curation/tracks.csv"))
    assert tracks[0] == ["track", "title", "enrolled", "active_7d", "active_30d", "completed"]
    assert ["ml", "Machine learning", "3", "1", "2", "1"] in tracks
    steps = _csv(staff_client.get("/staff/curation/steps.csv"))
    assert steps[0][3:5] == ["choice_group", "optional"]
    assert ["ml", "s2", "Numpy", "", "no", "2", "1", "1", "0", "7200"] in steps
    assert ["ml", "s3a", "PyTorch", "pick", "no", "1", "1", "0", "0", "3600"] in steps
    assert ["ml", "s4", "Ship it", "", "yes", "1", "1", "0", "0", "3600"] in steps
    assert not [row for row in steps if row[1] == "old"]
    resources = _csv(staff_client.get("/staff/curation/resources.csv"))
    assert resources[1][:5] == ["https://example.com/shared", "Shared", "2", "2", "broken"]
    assert len(_csv(staff_client.get("/staff/curation/weeks.csv"))) == 13
    assert staff_client.get("/staff/curation/nope.csv").status_code == 404


def test_a_formula_in_a_title_is_not_run_by_a_spreadsheet(staff_client, db):
    TrackFactory(slug="f", title="=HYPERLINK(1)")
    curation_refresh()
    rows = _csv(staff_client.get("/staff/curation/tracks.csv"))
    assert ["f", "'=HYPERLINK(1)", "0", "0", "0", "0"] in rows


def test_the_refresh_button_needs_the_csrf_token(world, django_capture_on_commit_callbacks):
    curator = UserFactory(is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)

    assert client.post("/staff/curation/refresh/").status_code == 403
    assert not RefreshState.objects.exists()

    page = client.get(DASHBOARD)
    token = page.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/curation/refresh/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert RefreshState.objects.get().refreshed_at is not None


def _grow(n: int) -> None:
    """n more tracks, each with steps, resources, learners and events."""
    for t in range(n):
        track = TrackFactory()
        steps = [StepFactory(track=track) for _ in range(3)]
        for step in steps:
            StepResourceFactory(step=step, resource=ResourceFactory())
        for _ in range(3):
            learner = UserFactory()
            for step in steps[: t % 3 + 1]:
                study(learner, step, Status.DONE)


def test_the_page_costs_the_same_queries_whatever_the_data(
    staff_client, django_assert_num_queries, db
):
    # Queries: 1 session, 2 user, 3 refresh state, 4 track figures, 5 the selected track's
    # funnel, 6 resources with their health, 7 weeks.
    _grow(1)
    curation_refresh()
    with django_assert_num_queries(7):
        assert staff_client.get(DASHBOARD).status_code == 200

    _grow(4)
    curation_refresh()
    with django_assert_num_queries(7):
        assert staff_client.get(DASHBOARD).status_code == 200


def test_the_page_runs_under_the_strict_csp(staff_client, world):
    curation_refresh()

    response = staff_client.get(DASHBOARD)
    page = response.content.decode()

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script" not in page.split("</header>", 1)[1]  # charts are SVG, no script
    assert not re.findall(r"<[^>]+\s(on[a-z]+|style)=", page)
