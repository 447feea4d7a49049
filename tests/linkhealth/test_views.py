"""Learner reports, the include for the track page, the staff page and the admin."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from apps.linkhealth.models import BrokenLinkReport, LinkCheck, ResourceHealth
from apps.linkhealth.outcomes import Outcome
from apps.linkhealth.selectors import resource_health_for
from tests.factories import ResourceFactory, StepResourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _health(resource, health, **fields):
    return ResourceHealth.objects.create(resource=resource, health=health, **fields)


# --- the selector and the include ----------------------------------------------------------


def test_resource_health_for_is_one_query(django_assert_num_queries):
    ok, broken, never = ResourceFactory.create_batch(3)
    _health(ok, Outcome.OK)
    _health(broken, Outcome.BROKEN)

    with django_assert_num_queries(1):  # 1. health rows of the given resources
        found = resource_health_for([ok.pk, broken.pk, never.pk])

    assert found == {ok.pk: "ok", broken.pk: "broken", never.pk: "unknown"}


def test_include_marks_broken_links_quietly_and_offers_the_report_form(learner):
    resource = ResourceFactory(title="Deep Learning Book")
    request = RequestFactory().get("/tracks/deep-learning/")
    request.user = learner

    broken = render_to_string(
        "linkhealth/_resource_health.html",
        {"resource": resource, "health": "broken", "user": learner},
        request=request,
    )
    fine = render_to_string(
        "linkhealth/_resource_health.html",
        {"resource": resource, "health": "ok", "user": learner},
        request=request,
    )

    assert "this link may be broken" in broken
    assert "this link may be broken" not in fine
    assert reverse("linkhealth:report", args=[resource.pk]) in fine
    assert 'name="next" value="/tracks/deep-learning/"' in fine
    assert "csrfmiddlewaretoken" in fine


# --- reporting -------------------------------------------------------------------------------


def test_report_needs_a_signed_in_learner(client):
    resource = ResourceFactory()

    response = client.post(reverse("linkhealth:report", args=[resource.pk]))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert not BrokenLinkReport.objects.exists()


def test_report_is_post_only(client, learner):
    client.force_login(learner)

    response = client.get(reverse("linkhealth:report", args=[ResourceFactory().pk]))

    assert response.status_code == 405


def test_report_redirects_back_with_a_message(client, learner, settings, django_assert_num_queries):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the re-check is queued, not run here
    settings.CELERY_BROKER_URL = "memory://"
    resource = ResourceFactory()
    client.force_login(learner)
    url = reverse("linkhealth:report", args=[resource.pk])

    # 1 session, 2 user, 3 savepoint, 4 resource, 5 already reported?, 6 savepoint,
    # 7 insert report, 8 release, 9 flag health for re-check, 10 insert health (first
    # time), 11 resources of the run, 12 insert run, 13 insert claim, 14 insert the re-check
    # task in the outbox, 15 release savepoint (it is sent on commit). The rate limit counts
    # on the cache, not in the database.
    with django_assert_num_queries(15):
        response = client.post(url, {"next": "/tracks/deep-learning/"})

    assert response.status_code == 302
    assert response["Location"] == "/tracks/deep-learning/"
    assert BrokenLinkReport.objects.filter(user=learner, resource=resource).count() == 1
    assert ResourceHealth.objects.get(resource=resource).recheck_requested_at is not None
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Thank you! We will check this link shortly."]


def test_report_refuses_unsafe_next(client, learner, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(learner)

    response = client.post(
        reverse("linkhealth:report", args=[ResourceFactory().pk]),
        {"next": "https://elsewhere.example/"},
    )

    assert response["Location"] == "/"


def test_second_report_says_so(client, learner, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    resource = ResourceFactory()
    BrokenLinkReport.objects.create(user=learner, resource=resource)
    client.force_login(learner)

    response = client.post(reverse("linkhealth:report", args=[resource.pk]), follow=False)

    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["You already reported this link. Thank you!"]
    assert BrokenLinkReport.objects.count() == 1


def test_report_with_htmx_returns_the_fragment(client, learner, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    resource = ResourceFactory()
    _health(resource, Outcome.BROKEN)
    client.force_login(learner)

    response = client.post(
        reverse("linkhealth:report", args=[resource.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith(f'<span class="link-health" id="link-health-{resource.pk}">')
    assert "this link may be broken" in body
    assert "Thank you! We will check this link shortly." in body
    assert "<html" not in body


def test_report_of_unknown_resource_is_404_for_htmx(client, learner):
    client.force_login(learner)

    response = client.post(reverse("linkhealth:report", args=[999999]), HTTP_HX_REQUEST="true")

    assert response.status_code == 404


# --- staff page ------------------------------------------------------------------------------


def test_staff_page_is_staff_only(client, learner):
    client.force_login(learner)

    response = client.get(reverse("linkhealth:dashboard"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def _fill_worklist(n: int) -> None:
    for i in range(n):
        _health(ResourceFactory(), Outcome.BROKEN, last_detail="HTTP 404", host="a.example")
        _health(
            ResourceFactory(),
            Outcome.MOVED,
            suggested_url=f"https://new.example/{i}",
            host="b.example",
        )
        _health(ResourceFactory(), Outcome.BLOCKED, host=f"blocked{i}.example")
        BrokenLinkReport.objects.create(user=UserFactory(), resource=ResourceFactory())


@pytest.mark.parametrize("rows", [1, 6])
def test_staff_page_shows_the_worklist_in_bounded_queries(
    staff_client, django_assert_num_queries, rows
):
    _fill_worklist(rows)
    ResourceFactory()  # never checked

    # 1 session, 2 user, 3 counts by health, 4 last digest, 5 newly broken,
    # 6 moved, 7 blocked hosts, 8 open reports
    with django_assert_num_queries(8):
        response = staff_client.get(reverse("linkhealth:dashboard"))

    assert response.status_code == 200
    counts = response.context["dashboard"].counts
    assert counts["broken"] == counts["moved"] == counts["blocked"] == rows
    assert counts["unknown"] == rows + 1  # reported resources and the never-checked one
    body = response.content.decode()
    assert "https://new.example/0" in body
    assert "blocked0.example" in body


# --- admin -----------------------------------------------------------------------------------


def _changelist_queries(client, django_assert_num_queries, n):
    with django_assert_num_queries(n):
        return client.get(reverse("admin:content_resource_changelist"))


@pytest.mark.parametrize("rows", [1, 8])
def test_resource_changelist_shows_health_in_bounded_queries(
    staff_client, django_assert_num_queries, rows
):
    for i in range(rows):
        resource = StepResourceFactory().resource
        _health(resource, Outcome.MOVED, suggested_url=f"https://new.example/{i}")
    ResourceFactory()

    # 1 session, 2 user, 3-4 the curator's user and group permissions, 5 count (filtered),
    # 6 count (all), 7 the page of resources joined to their health, 8-9 distinct providers
    # and languages for the list filters
    response = _changelist_queries(staff_client, django_assert_num_queries, 9)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and ">moved</text>" in body
    assert "Use the new URL</button>" in body


def test_changelist_filters_by_health(staff_client):
    broken = ResourceFactory(title="Broken one")
    _health(broken, Outcome.BROKEN)
    ResourceFactory(title="Never checked")

    response = staff_client.get(reverse("admin:content_resource_changelist") + "?health=broken")
    unknown = staff_client.get(reverse("admin:content_resource_changelist") + "?health=unknown")

    assert list(response.context["cl"].result_list) == [broken]
    assert [r.title for r in unknown.context["cl"].result_list] == ["Never checked"]


def test_check_now_action_checks_inline_when_celery_is_eager(
    staff_client, farm, link_settings, django_capture_on_commit_callbacks
):
    resource = ResourceFactory(url=farm.route("/page"))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:content_resource_changelist"),
            {"action": "check_now", "_selected_action": [resource.pk]},
            follow=True,
        )

    assert "Checked 1 link(s)." in response.content.decode()
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.OK
    assert LinkCheck.objects.filter(resource=resource).count() == 1


def test_use_new_url_button_replaces_the_url(
    staff_client, farm, link_settings, django_capture_on_commit_callbacks
):
    farm.route("/new")
    resource = ResourceFactory(url=farm.route("/old", status=308, headers={"Location": "/new"}))
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("admin:content_resource_changelist"),
            {"action": "check_now", "_selected_action": [resource.pk]},
        )
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.MOVED

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:linkhealth_use_new_url", args=[resource.pk]), follow=True
        )

    resource.refresh_from_db()
    assert resource.url == farm.url("/new")
    assert "now uses" in response.content.decode()
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.OK


def test_use_new_url_action_skips_links_that_did_not_move(staff_client):
    resource = ResourceFactory(url="https://example.org/stays")
    _health(resource, Outcome.OK)

    staff_client.post(
        reverse("admin:content_resource_changelist"),
        {"action": "use_new_url", "_selected_action": [resource.pk]},
    )

    resource.refresh_from_db()
    assert resource.url == "https://example.org/stays"


def test_change_page_shows_the_check_history(staff_client, farm, link_settings, settings):
    settings.LINK_CHECK_HISTORY_SHOWN = 2
    resource = ResourceFactory(url=farm.route("/gone", status=404))
    from apps.linkhealth.services import link_check_run_create, link_chunk_check

    for _ in range(3):
        run, _ = link_check_run_create(kind="manual", resource_ids=[resource.pk])
        link_chunk_check(run_id=run.pk)

    response = staff_client.get(reverse("admin:content_resource_change", args=[resource.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "link check history" in body.lower()
    assert body.count("HTTP 404") >= 2
    inline = response.context["inline_admin_formsets"][-1]
    assert len(inline.formset.queryset) == 2  # only the latest few
