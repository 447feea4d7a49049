"""Version 1 of the REST API, mounted at /api/v1/. Each domain app contributes its routes."""

from django.urls import URLPattern, path, re_path

from apps.core.api.errors import api_not_found
from apps.learning import apis as learning
from apps.learning import changelog_apis as changelog
from apps.progress import apis as progress

app_name = "api"
urlpatterns: list[URLPattern] = [
    path("tracks/", learning.TrackListApi.as_view(), name="track-list"),
    path("tracks/<slug:slug>/", learning.TrackDetailApi.as_view(), name="track-detail"),
    path("tracks/<slug:slug>/changes/", changelog.TrackChangesApi.as_view(), name="track-changes"),
    path(
        "tracks/<slug:slug>/changes/seen/",
        changelog.TrackChangesSeenApi.as_view(),
        name="track-changes-seen",
    ),
    path("progress/", progress.DashboardApi.as_view(), name="progress"),
    path("progress/steps/<int:step_id>/", progress.StepProgressApi.as_view(), name="step-progress"),
    path("progress/sync/", progress.SyncApi.as_view(), name="progress-sync"),
    path("progress/changes/", progress.ChangesApi.as_view(), name="progress-changes"),
    path(
        "progress/steps/<int:step_id>/notes/",
        progress.StepNoteApi.as_view(),
        name="step-note",
    ),
    path("progress/suggestions/", progress.SuggestionsApi.as_view(), name="progress-suggestions"),
    path("progress/pace/", learning.PaceApi.as_view(), name="progress-pace"),
    path("progress/tracks/<slug:slug>/bulk/", progress.TrackBulkApi.as_view(), name="track-bulk"),
    path("progress/bulk/<uuid:action_id>/undo/", progress.BulkUndoApi.as_view(), name="bulk-undo"),
    path("me/", learning.MeApi.as_view(), name="me"),
    path("me/export/", learning.MeExportApi.as_view(), name="me-export"),
    # Anything else under /api/v1/ answers 404 in the API's error shape, not an HTML page.
    re_path(r"^[\s\S]*$", api_not_found, name="not-found"),
]
