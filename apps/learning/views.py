"""What a learner sees on the web: home, catalog, a track, the dashboard, ticking a step,
and the download of their data."""

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from apps.accounts.models import User
from apps.content.forms import TrackFilterForm
from apps.content.selectors import step_published_get, track_goals, track_list
from apps.core.errors import ApplicationError
from apps.core.http import HtmxHttpRequest
from apps.core.ratelimit import rate_limit_exceeded
from apps.learning.changelog import track_changelog_for, track_changes_seen
from apps.learning.charts import activity_chart
from apps.learning.selectors import (
    dashboard_changelogs_for,
    fingerprint,
    learner_dashboard_for,
    learner_pace_cached,
    step_change_view_for,
    track_page_for,
)
from apps.learning.services import user_data_export
from apps.progress.forms import StepStatusForm
from apps.progress.models import BulkAction, Source
from apps.progress.selectors import bulk_action_for, step_note_for, step_statuses_for
from apps.progress.services import (
    BULK_TARGET,
    bulk_action_undo,
    step_note_set,
    step_status_set,
    track_bulk_set,
)


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what Stepwise is and the tracks; learners land on their dashboard."""
    if request.user.is_authenticated:
        return dashboard(request)
    return render(request, "learning/home.html", {"tracks": track_list()})


def track_catalog(request: HttpRequest) -> HttpResponse:
    form = TrackFilterForm(request.GET or None, goals=track_goals())
    tracks = track_list()
    if form.is_bound:
        if form.is_valid():
            tracks = track_list(
                search=form.cleaned_data["q"],
                level=form.cleaned_data["level"],
                goal=form.cleaned_data["goal"],
            )
        else:
            messages.error(request, "Some filters were not understood and were ignored.")
    return render(request, "learning/catalog.html", {"tracks": tracks, "form": form})


def track_detail(request: HttpRequest, slug: str) -> HttpResponse:
    page = track_page_for(slug=slug, user=request.user)  # type: ignore[arg-type]
    if page is None:
        raise Http404("No such track.")
    # The progress bar and the step list are kept rendered, keyed by the page's version
    # (content, the learner's statuses on the track, broken links); a learner's forms
    # carry a token of their CSRF secret and the report forms the page's path, so both
    # are part of the key too. Visitors see no forms: one list serves them all.
    steps_key = f"visitor:{page.version}"
    if request.user.is_authenticated:
        get_token(request)
        secret = request.META["CSRF_COOKIE"]
        steps_key = f"{request.user.pk}:{page.version}:{secret}:{request.get_full_path()}"
    undo = changelog = None
    if request.user.is_authenticated:
        undo = _bulk_undo_offers(request).get(slug)
        # What curators changed since the last visit: told once, then this visit is the
        # last. Read only when the track changed after what the learner was last told.
        if page.unseen_up_to is not None:
            changelog = track_changelog_for(user_id=request.user.pk, track_id=page.track.pk)
            track_changes_seen(
                user_id=request.user.pk,
                track_id=page.track.pk,
                up_to=changelog.last_id if changelog else page.unseen_up_to,
            )
    return render(
        request,
        "learning/track_detail.html",
        {
            "undo": undo,
            "changelog": changelog,
            "track": page.track,
            "track_page": page,  # its figures and steps are read only if not cached
            "steps_key": steps_key,
            "steps_seconds": settings.STEPWISE_LEARNER_FRAGMENT_SECONDS,
        },
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    mine = learner_dashboard_for(user=user)
    data = mine.dashboard
    # The track cards and the chart are kept rendered, keyed by what they show ("last
    # active 3 hours ago" included, so they follow the clock), as a track's steps are.
    finish_on = {e.track.pk: mine.finish_on(e.completion) for e in data.enrollments}
    cards = [
        (e.track.pk, e.track.slug, e.track.title, e.completion, e.next_step, finish_on[e.track.pk])
        for e in data.enrollments
    ]
    active = [naturaltime(e.last_activity_at) for e in data.enrollments]
    changelogs = dashboard_changelogs_for(user=user, dashboard=mine)
    return render(
        request,
        "learning/dashboard.html",
        {
            "dashboard": data,
            "done_elsewhere": mine.done_elsewhere,
            "weekly": mine.weekly,
            "finish_on": finish_on,
            "chart": activity_chart(data.activity),
            "changelogs": changelogs,
            "cards_key": fingerprint(
                (cards, active, [(c.track_id, c.counts) for c in changelogs.values()])
            ),
            "fragment_seconds": settings.STEPWISE_LEARNER_FRAGMENT_SECONDS,
        },
    )


@require_POST
def step_status_change(request: HtmxHttpRequest, slug: str, key: str) -> HttpResponse:
    """Mark a step; works as a plain form POST and, with htmx, updates the step in place."""
    track_url = reverse("learning:track", args=[slug])
    if not request.user.is_authenticated:
        login = f"{reverse('account_login')}?next={track_url}%23step-{key}"
        return HttpResponseClientRedirect(login) if request.htmx else redirect(login)
    user: User = request.user
    step = step_published_get(track_slug=slug, key=key)
    if step is None:
        raise Http404("No such step.")

    form = StepStatusForm(request.POST)
    error, status, change = None, 200, None
    if rate_limit_exceeded(
        key=f"web-status:{user.pk}",
        limit=settings.STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE,
        window_seconds=60,
    ):
        error, status = "That was a lot of changes in a minute; wait a moment and try again.", 429
    elif form.is_valid():
        try:
            change = step_status_set(
                user=user, step=step, status=form.cleaned_data["status"], source=Source.WEB
            )
        except ApplicationError as exc:
            error, status = exc.message, 400
    else:
        error, status = " ".join(str(message) for message in form.errors["status"]), 400

    if not request.htmx:
        if error:
            messages.error(request, f"{step.title}: {error} Nothing was changed.")
        if request.POST.get("next") == "dashboard":  # "Mark done here too" on the dashboard
            return redirect("learning:dashboard")
        return redirect(f"{track_url}#step-{key}")

    if change is not None:
        current = change.progress.status
        previous = change.event.from_status if change.event is not None else None
    else:
        current, previous = step_statuses_for(user_id=user.pk, step_ids=[step.pk])[step.pk], None
    view = step_change_view_for(step=step, user=user, status=current, previous=previous)
    # The finish date follows the new remaining time at the pace measured today, if it
    # was (no query: the click stays within its budget).
    pace = learner_pace_cached(user=user)
    finish_on = (
        pace.finish_on(
            remaining_minutes=view.completion.remaining_minutes,
            today=user.local_today(),
        )
        if pace is not None
        else None
    )
    response = render(
        request,
        "learning/_step_changed.html",
        {
            "track": step.track,
            "item": view.item,
            "dependents": view.dependents,
            "group": view.group,
            "completion": view.completion,
            "link_health": view.link_health,
            "pace": pace,
            "finish_on": finish_on,
            "error": error,
        },
        status=status,
    )
    if status == 429:
        response["Retry-After"] = "60"
    return response


@login_required
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    body = json.dumps(user_data_export(user=user), indent=2)
    response = HttpResponse(body, content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="stepwise-data-{stamp}.json"'
    return response


# --- notes ------------------------------------------------------------------------------


@login_required
def step_note(request: HtmxHttpRequest, slug: str, key: str) -> HttpResponse:
    """The learner's private note on a step. htmx saves it as they type and answers
    with a one-line status; without JavaScript the form posts here and goes back to the
    step, or shows the form again, text kept, with what was wrong."""
    user: User = request.user  # type: ignore[assignment]
    step = step_published_get(track_slug=slug, key=key)
    if step is None:
        raise Http404("No such step.")
    note = step_note_for(user_id=user.pk, step_id=step.pk)
    body, links = (note.body, note.links) if note is not None else ("", [])
    error = None
    if request.method == "POST":
        body = request.POST.get("body", "")
        links = request.POST.get("links", "").split()
        if rate_limit_exceeded(
            key=f"web-note:{user.pk}",
            limit=settings.STEPWISE_WEB_NOTE_SAVES_PER_MINUTE,
            window_seconds=60,
        ):
            error = "That was a lot of saves in a minute; wait a moment and try again."
        else:
            try:
                note = step_note_set(user=user, step=step, body=body, links=links)
            except ApplicationError as exc:
                error = exc.message
        if request.htmx:
            # htmx shows the answer (400 included) next to the form; the text stays put.
            return render(
                request,
                "learning/_note_status.html",
                {"error": error, "note": note},
                status=400 if error else 200,
            )
        if error is None:
            messages.success(request, f"Your note on “{step.title}” is saved.")
            return redirect(f"{reverse('learning:track', args=[slug])}#step-{key}")
    return render(
        request,
        "learning/step_note.html",
        {"step": step, "track": step.track, "body": body, "links": links, "error": error},
        status=400 if error else 200,
    )


# --- bulk actions -----------------------------------------------------------------------

BULK_UNDO_SESSION_KEY = "stepwise-bulk-undo"


def _bulk_undo_offers(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """By track slug, the learner's last bulk action there (``id``, ``kind``,
    ``changed``), offered for undo for the rest of their session."""
    offers: dict[str, dict[str, Any]] = request.session.get(BULK_UNDO_SESSION_KEY, {})
    return offers


@login_required
def track_bulk(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """Mark every step of the track done, or reset them all: a confirmation page (GET),
    then the action (POST), undoable for the rest of the session."""
    if kind not in BULK_TARGET:
        raise Http404("No such action.")
    user: User = request.user  # type: ignore[assignment]
    page = track_page_for(slug=slug, user=user)
    if page is None:
        raise Http404("No such track.")
    if request.method == "POST":
        result = track_bulk_set(user=user, track=page.track, kind=kind, source=Source.WEB)
        offers = _bulk_undo_offers(request)
        offers[slug] = {
            "id": str(result.action.pk),
            "kind": result.action.get_kind_display(),
            "changed": result.action.steps_changed,
        }
        request.session[BULK_UNDO_SESSION_KEY] = offers
        return redirect("learning:track", slug=slug)
    return render(
        request,
        "learning/track_bulk_confirm.html",
        {"track": page.track, "kind": kind, "completion": page.completion},
    )


@login_required
@require_POST
def bulk_undo(request: HtmxHttpRequest, slug: str, action_id: str) -> HttpResponse:
    """Undo the learner's bulk action on the track (never anyone else's)."""
    user: User = request.user  # type: ignore[assignment]
    action = bulk_action_for(user_id=user.pk, action_id=action_id)
    if action is None or action.kind == BulkAction.Kind.UNDO or action.track.slug != slug:
        raise Http404("No such action of yours.")
    result = bulk_action_undo(user=user, action=action, source=Source.WEB)
    offers = _bulk_undo_offers(request)
    if offers.pop(slug, None) is not None:
        request.session[BULK_UNDO_SESSION_KEY] = offers
    changed = result.action.steps_changed
    messages.success(
        request,
        f"Undone: {changed} step{pluralize(changed)} went back to where they were."
        if not result.replayed
        else "That was already undone.",
    )
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("learning:track", slug=slug)
