"""The learner's account across the apps below: everything Stepwise holds about them."""

from datetime import datetime
from typing import Any

from apps.accounts.models import User
from apps.learning.models import CalendarFeed, PublicProfile, TrackVisit
from apps.progress.models import (
    BulkAction,
    Enrollment,
    ProgressEvent,
    StepNote,
    StepProgress,
    SyncReceipt,
)


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything Stepwise holds about the learner, as JSON-ready data. Nine queries (ten
    with a public page: its tracks)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    enrollments = (
        Enrollment.objects.filter(user=user)
        .order_by("started_at")
        .values_list("track__slug", "started_at", "last_activity_at")
    )
    statuses = (
        StepProgress.objects.filter(user=user)
        .order_by("step__track__slug", "step__position")
        .values_list("step__track__slug", "step__key", "status", "started_at", "completed_at")
    )
    events = (
        ProgressEvent.objects.filter(user=user)
        .order_by("occurred_at", "id")
        .values_list(
            "step__track__slug",
            "step__key",
            "from_status",
            "to_status",
            "occurred_at",
            "recorded_at",
            "source",
            "bulk_id",
        )
    )
    notes = (
        StepNote.objects.filter(user=user)
        .exclude(body="", links=[])
        .order_by("step__track__slug", "step__position")
        .values_list("step__track__slug", "step__key", "body", "links", "updated_at")
    )
    bulk_actions = (
        BulkAction.objects.filter(user=user)
        .order_by("created_at")
        .values_list("id", "track__slug", "kind", "undoes_id", "steps_changed", "created_at")
    )
    # The offline operations taken from the learner's devices, kept so that a replay is
    # always answered "duplicate" (their step is as the device sent it: a number).
    sync_operations = (
        SyncReceipt.objects.filter(user=user)
        .order_by("recorded_at", "op_id")
        .values_list("op_id", "step_id", "status", "occurred_at", "recorded_at")
    )
    public = PublicProfile.objects.filter(user=user).prefetch_related("tracks").first()
    feed = CalendarFeed.objects.filter(user=user).values_list("created_at", flat=True).first()
    visits = (
        TrackVisit.objects.filter(user=user)
        .order_by("track__slug")
        .values_list("track__slug", "seen_change_id", "seen_at")
    )
    return {
        "profile": {
            "email": user.email,
            "display_name": user.display_name,
            "timezone": user.timezone,
            "date_joined": iso(user.date_joined),
        },
        "enrollments": [
            {"track": track, "started_at": iso(started), "last_activity_at": iso(last)}
            for track, started, last in enrollments
        ],
        "step_statuses": [
            {
                "track": track,
                "step": key,
                "status": status,
                "started_at": iso(started),
                "completed_at": iso(completed),
            }
            for track, key, status, started, completed in statuses
        ],
        "events": [
            {
                "track": track,
                "step": key,
                "from": before,
                "to": after,
                "occurred_at": iso(occurred),
                "recorded_at": iso(recorded),
                "source": source,
                "bulk_action": str(bulk) if bulk else None,
            }
            for track, key, before, after, occurred, recorded, source, bulk in events.iterator(2000)
        ],
        "notes": [
            {"track": track, "step": key, "body": body, "links": links, "updated_at": iso(at)}
            for track, key, body, links, at in notes
        ],
        "bulk_actions": [
            {
                "id": str(pk),
                "track": track,
                "kind": kind,
                "undoes": str(undoes) if undoes else None,
                "steps_changed": changed,
                "created_at": iso(at),
            }
            for pk, track, kind, undoes, changed, at in bulk_actions
        ],
        "sync_operations": [
            {
                "op_id": op_id,
                "step_id": step_id,
                "status": status,
                "occurred_at": iso(occurred),
                "recorded_at": iso(recorded),
            }
            for op_id, step_id, status, occurred, recorded in sync_operations.iterator(2000)
        ],
        "public_page": {
            "handle": public.handle,
            "public": public.is_public,
            "tracks": sorted(track.slug for track in public.tracks.all()),
            "updated_at": iso(public.updated_at),
        }
        if public is not None
        else None,
        # The link's token is not kept (only a digest of it): not even the export has it.
        "calendar_feed": {"created_at": iso(feed)} if feed is not None else None,
        "track_visits": [
            {"track": track, "seen_change": seen, "seen_at": iso(at)} for track, seen, at in visits
        ],
    }
