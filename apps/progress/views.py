from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.accounts.models import User
from apps.content.models import Step
from apps.content.selectors import track_list
from apps.core.errors import ApplicationError
from apps.core.http import HtmxHttpRequest
from apps.core.ratelimit import rate_limit_exceeded
from apps.progress.charts import activity_chart
from apps.progress.forms import StepStatusForm
from apps.progress.models import Source
from apps.progress.selectors import learner_dashboard, track_view_for
from apps.progress.services import step_status_set


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    data = learner_dashboard(user=user)
    return render(
        request,
        "progress/dashboard.html",
        {"dashboard": data, "chart": activity_chart(data.activity)},
    )


@require_POST
def step_status_change(request: HtmxHttpRequest, slug: str, key: str) -> HttpResponse:
    """Mark a step; works as a plain form POST and, with htmx, updates the step in place."""
    track_url = reverse("content:track", args=[slug])
    if not request.user.is_authenticated:
        login = f"{reverse('account_login')}?next={track_url}%23step-{key}"
        return HttpResponseClientRedirect(login) if request.htmx else redirect(login)
    user: User = request.user
    track = get_object_or_404(track_list(), slug=slug)
    step = get_object_or_404(Step, track=track, key=key)

    form = StepStatusForm(request.POST)
    error, status = None, 200
    if rate_limit_exceeded(
        key=f"web-status:{user.pk}",
        limit=settings.STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE,
        window_seconds=60,
    ):
        error, status = "That was a lot of changes in a minute; wait a moment and try again.", 429
    elif form.is_valid():
        try:
            step_status_set(
                user=user, step=step, status=form.cleaned_data["status"], source=Source.WEB
            )
        except ApplicationError as exc:
            error, status = exc.message, 400
    else:
        error, status = " ".join(str(message) for message in form.errors["status"]), 400

    if not request.htmx:
        if error:
            messages.error(request, f"{step.title}: {error} Nothing was changed.")
        return redirect(f"{track_url}#step-{key}")

    view = track_view_for(track=track, user=user)
    [step_view] = [v for v in view.steps if v.step.pk == step.pk]
    response = render(
        request,
        "progress/_step_changed.html",
        {
            "track": track,
            "item": step_view,
            "completion": view.completion,
            "link_health": view.link_health,
            "error": error,
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = "60"
    return response
