from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.content.models import Resource
from apps.core.errors import ApplicationError
from apps.linkhealth.selectors import link_health_dashboard, resource_health_for
from apps.linkhealth.services import broken_link_report_create

REPORT_THANKS = "Thank you! We will check this link shortly."


def _back(request: HttpRequest) -> str:
    for candidate in (request.POST.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


@login_required
@require_POST
def link_report(request: HttpRequest, resource_id: int) -> HttpResponse:
    """A learner reports a broken link; htmx gets the updated mark, others a redirect back."""
    assert isinstance(request.user, User)  # noqa: S101 - login_required guarantees it
    try:
        broken_link_report_create(user=request.user, resource_id=resource_id)
        text, level = REPORT_THANKS, messages.SUCCESS
    except ApplicationError as exc:
        text, level = exc.message, messages.WARNING
    if getattr(request, "htmx", False):
        resource = get_object_or_404(Resource, pk=resource_id)
        context = {
            "resource": resource,
            "health": resource_health_for([resource.pk])[resource.pk],
            "report_message": text,
        }
        return render(request, "linkhealth/_resource_health.html", context)
    messages.add_message(request, level, text)
    return redirect(_back(request))


@staff_member_required
def link_health_page(request: HttpRequest) -> HttpResponse:
    return render(request, "linkhealth/dashboard.html", {"dashboard": link_health_dashboard()})
