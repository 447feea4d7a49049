"""A learner's public page and badges, and their calendar feed, with the account pages
that set them."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from apps.accounts.models import User
from apps.core.http import site_url
from apps.learning.calendar import (
    calendar_feed_issue,
    calendar_feed_of,
    calendar_feed_owner,
    calendar_feed_revoke,
    calendar_feed_url,
    calendar_ics,
    learner_pace,
)
from apps.learning.forms import PublicProfileForm
from apps.learning.public import (
    badge_for,
    public_page_for,
    public_profile_of,
    public_profile_update,
    public_track_choices,
)

# --- the public page and badges ---------------------------------------------------------


@require_safe
def public_page(request: HttpRequest, handle: str) -> HttpResponse:
    """/u/<handle>/: 404 unless the learner made it public, from the moment they do not."""
    page = public_page_for(handle=handle)
    if page is None:
        raise Http404("No such public page.")
    response = render(
        request,
        "learning/public_page.html",
        {
            "page": page,
            "page_url": site_url(request.path),
            "fragment_seconds": settings.STEPWISE_LEARNER_FRAGMENT_SECONDS,
        },
    )
    # Browsers and proxies ask again every time: a page turned off is gone at once.
    patch_cache_control(response, private=True, no_cache=True)
    return response


BADGE_CHAR_PX = 7  # Verdana 11 px, roughly, per character
BADGE_PADDING_PX = 10
BADGE_LABEL_CHARS = 40


def _badge_svg(label: str, value: str, colour: str) -> str:
    if len(label) > BADGE_LABEL_CHARS:
        label = label[: BADGE_LABEL_CHARS - 1] + "…"
    label_width = len(label) * BADGE_CHAR_PX + BADGE_PADDING_PX
    value_width = len(value) * BADGE_CHAR_PX + BADGE_PADDING_PX
    return render_to_string(
        "learning/badge.svg",
        {
            "label": label,
            "value": value,
            "colour": colour,
            "label_width": label_width,
            "value_width": value_width,
            "width": label_width + value_width,
            "label_x": label_width / 2,
            "value_x": label_width + value_width / 2,
        },
    )


@require_safe
def public_badge(request: HttpRequest, handle: str, track: str) -> HttpResponse:
    """/u/<handle>/<track>.svg, a progress badge for a README, as healthchecks draws its
    status badges: an ETag that moves with the learner's progress (304 when it did not),
    and revalidated on every use, so a page turned off stops showing it at once."""
    badge = badge_for(handle=handle, track_slug=track)
    if badge is None:
        raise Http404("No such badge.")
    etag = f'"{badge.version[:32]}"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response: HttpResponse = HttpResponseNotModified()
    else:
        completion = badge.completion
        if completion.is_complete:
            value, colour = "done", "#1a7f37"
        elif completion.steps_done or completion.in_progress:
            value, colour = f"{completion.percent}%", "#0b5cad"
        else:
            value, colour = "starting", "#57606a"
        response = HttpResponse(
            _badge_svg(badge.track_title, value, colour), content_type="image/svg+xml"
        )
    response["ETag"] = etag
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


@login_required
def public_settings(request: HttpRequest) -> HttpResponse:
    """The learner's public page: on or off, its handle, the tracks it shows."""
    user: User = request.user  # type: ignore[assignment]
    profile = public_profile_of(user=user)
    choices = public_track_choices(user=user)
    initial = (
        {
            "is_public": profile.is_public,
            "handle": profile.handle,
            "tracks": [t.pk for t in profile.tracks.all()],
        }
        if profile is not None
        else {}
    )
    form = PublicProfileForm(request.POST or None, initial=initial, tracks=choices)
    if request.method == "POST" and form.is_valid():
        try:
            saved = public_profile_update(
                user=user,
                handle=form.cleaned_data["handle"],
                is_public=form.cleaned_data["is_public"],
                track_ids=[t.pk for t in form.cleaned_data["tracks"]],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error("handle", exc.messages)
        else:
            messages.success(
                request,
                f"Your public page is on at /u/{saved.handle}/."
                if saved.is_public
                else "Your public page is off: its address and badges answer “not found”.",
            )
            return redirect("learning:public-settings")
    return render(
        request,
        "learning/public_settings.html",
        {"form": form, "profile": profile, "choices": choices, "site_origin": site_url("")},
        status=400 if form.errors else 200,
    )


# --- the calendar feed ------------------------------------------------------------------


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    """Create, replace or turn off the learner's private calendar URL. A new URL is
    shown once, on the answer to the POST that made it: only its digest is kept."""
    user: User = request.user  # type: ignore[assignment]
    new_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "issue":
            new_url = calendar_feed_url(calendar_feed_issue(user=user))
        elif action == "revoke":
            if calendar_feed_revoke(user=user):
                messages.success(request, "Your calendar link is off: it answers “not found”.")
            return redirect("learning:calendar-settings")
        else:
            return HttpResponse("Unknown action.", status=400)
    response = render(
        request,
        "learning/calendar_settings.html",
        {
            "feed": calendar_feed_of(user=user),
            "new_url": new_url,
            "webcal_url": "webcal://" + new_url.split("://", 1)[1] if new_url else None,
            "pace": learner_pace(user=user),
        },
    )
    if new_url:
        response["Cache-Control"] = "no-store"  # the secret URL is in it
    return response


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed behind a learner's private URL; 404 once it is replaced or turned off."""
    user = calendar_feed_owner(token=token)
    if user is None:
        raise Http404("No such calendar.")
    response = HttpResponse(calendar_ics(user=user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="stepwise.ics"'
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
