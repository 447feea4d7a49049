"""OpenAPI links of a learner's way through the API, to and within progress: how the answer
of one operation feeds the next, for clients and for stateful testing (Schemathesis
follows them). drf-spectacular has no way
to declare a link, so they are added to the generated schema by a post-processing hook."""

from typing import Any

#: (path, method, status) of the answer -> link name -> the link object.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/api/v1/tracks/", "get", "200"): {
        "FirstTrack": {
            "operationId": "tracks_retrieve",
            "parameters": {"slug": "$response.body#/results/0/slug"},
            "description": "Open the first track of the page.",
        },
    },
    ("/api/v1/tracks/{slug}/", "get", "200"): {
        "MarkFirstStep": {
            "operationId": "progress_step_update",
            "parameters": {"step_id": "$response.body#/steps/0/id"},
            "description": "Set the learner's status on the track's first step.",
        },
        "BulkOnTrack": {
            "operationId": "progress_track_bulk",
            "parameters": {"slug": "$response.body#/slug"},
            "description": "Mark every step of this track done, or reset them.",
        },
    },
    ("/api/v1/progress/steps/{step_id}/", "put", "200"): {
        "NoteOnStep": {
            "operationId": "progress_step_note_update",
            "parameters": {"step_id": "$response.body#/step"},
            "description": "Keep a note on the step just marked.",
        },
    },
    ("/api/v1/progress/sync/", "post", "200"): {
        "ChangesSinceSync": {
            "operationId": "progress_changes",
            "parameters": {"since": "$response.body#/cursor"},
            "description": "Pull what other devices changed, from the cursor of this sync.",
        },
    },
    ("/api/v1/progress/changes/", "get", "200"): {
        "NextChanges": {
            "operationId": "progress_changes",
            "parameters": {"since": "$response.body#/cursor"},
            "description": "The next page (while has_more), or later changes.",
        },
    },
    ("/api/v1/progress/tracks/{slug}/bulk/", "post", "201"): {
        "UndoBulkAction": {
            "operationId": "progress_bulk_undo",
            "parameters": {"action_id": "$response.body#/id"},
            "description": "Undo this mark-all-done or reset.",
        },
    },
}


def progress_links(result: Any, **kwargs: Any) -> Any:
    """Schema post-processing: the OpenAPI links in ``LINKS``."""
    paths = result.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = {**response.get("links", {}), **links}
    return result
