from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.content.selectors import track_list, track_steps


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "content/home.html", {"tracks": track_list()})


def track_catalog(request: HttpRequest) -> HttpResponse:
    return render(request, "content/catalog.html", {"tracks": track_list()})


def track_detail(request: HttpRequest, slug: str) -> HttpResponse:
    track = get_object_or_404(track_list(), slug=slug)
    return render(
        request, "content/track_detail.html", {"track": track, "steps": track_steps(track=track)}
    )
