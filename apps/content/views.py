from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.content.forms import TrackFilterForm
from apps.content.selectors import track_goals, track_list
from apps.progress.selectors import track_view_for
from apps.progress.views import dashboard


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what Stepwise is and the tracks; learners land on their dashboard."""
    if request.user.is_authenticated:
        return dashboard(request)
    return render(request, "content/home.html", {"tracks": track_list()})


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
    return render(request, "content/catalog.html", {"tracks": tracks, "form": form})


def track_detail(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(track_list(), slug=slug)
    view = track_view_for(track=track, user=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "content/track_detail.html",
        {
            "track": track,
            "steps": view.steps,
            "completion": view.completion,
            "link_health": view.link_health,
        },
    )
