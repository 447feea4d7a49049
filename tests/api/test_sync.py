"""POST progress/sync/ and GET progress/changes/: offline changes, last write wins."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.content.models import Step, Track
from apps.progress.models import Enrollment, ProgressEvent, Source, Status, StepProgress
from apps.progress.services import step_status_set
from tests.api.conftest import build_track
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def op(step, status, when, op_id=None):
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "step": step if isinstance(step, int) else step.pk,
        "status": status,
        "occurred_at": when.isoformat() if isinstance(when, datetime) else when,
    }


def sync(api, *operations):
    return api.post("progress/sync/", {"operations": list(operations)})


def status_of(user, step):
    row = StepProgress.objects.filter(user=user, step=step).first()
    return row.status if row else Status.TODO


def many_steps(count: int) -> list[Step]:
    track = TrackFactory(slug="many")
    Step.objects.bulk_create(
        Step(track=track, key=f"k{n}", position=n, title=f"Step {n}") for n in range(count)
    )
    return list(track.steps.order_by("position"))


def test_applies_operations_and_answers_per_operation(alice, track):
    s0, s1 = track.steps.order_by("position")[:2]
    ops = [op(s0, "done", at(1)), op(s1, "in_progress", at(2))]

    response = sync(alice, *ops)

    assert response.status_code == 200
    body = response.json()
    assert [(r["op_id"], r["result"], r["changed"]) for r in body["results"]] == [
        (ops[0]["op_id"], "applied", True),
        (ops[1]["op_id"], "applied", True),
    ]
    assert {(s["step"], s["status"]) for s in body["statuses"]} == {
        (s0.pk, "done"),
        (s1.pk, "in_progress"),
    }
    events = ProgressEvent.objects.filter(user=alice.user).order_by("id")
    assert [(e.idempotency_key, e.occurred_at, e.source) for e in events] == [
        (ops[0]["op_id"], at(1), Source.API),
        (ops[1]["op_id"], at(2), Source.API),
    ]
    assert body["cursor"] == events.last().pk
    progress = StepProgress.objects.get(user=alice.user, step=s0)
    assert (progress.started_at, progress.completed_at, progress.status_changed_at) == (
        at(1),
        at(1),
        at(1),
    )
    enrollment = Enrollment.objects.get(user=alice.user, track=track)
    assert enrollment.started_at > at(2)  # enrolled when the server learnt of it


def test_replayed_op_id_changes_nothing(alice, track):
    s0 = track.steps.get(key="s0")
    ops = [op(s0, "done", at(1)), op(s0, "in_progress", at(2))]
    sync(alice, *ops)

    again = sync(alice, *ops).json()

    assert [r["result"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert ProgressEvent.objects.filter(user=alice.user).count() == 2
    assert status_of(alice.user, s0) == "in_progress"


def test_the_same_op_id_twice_in_one_batch_is_applied_once(alice, track):
    s0 = track.steps.get(key="s0")
    same = uuid.uuid4()

    body = sync(alice, op(s0, "done", at(1), same), op(s0, "done", at(1), same)).json()

    assert [r["result"] for r in body["results"]] == ["applied", "duplicate"]
    assert ProgressEvent.objects.count() == 1


def test_a_replayed_op_that_changed_nothing_is_a_duplicate(alice, track):
    s0 = track.steps.get(key="s0")
    first, same_again = op(s0, "done", at(1)), op(s0, "done", at(2))
    sync(alice, first, same_again)
    # Later, on the web, the step moves on: the replay must not read as a lost edit.
    step_status_set(user=alice.user, step=s0, status=Status.SKIPPED, occurred_at=at(3))

    body = sync(alice, first, same_again).json()

    assert [r["result"] for r in body["results"]] == ["duplicate", "duplicate"]
    assert [r["changed"] for r in body["results"]] == [False, False]
    assert status_of(alice.user, s0) == "skipped"


def test_a_replayed_stale_op_is_a_duplicate(alice, track):
    s0 = track.steps.get(key="s0")
    step_status_set(user=alice.user, step=s0, status=Status.DONE, occurred_at=at(10))
    late = op(s0, "in_progress", at(5))
    assert sync(alice, late).json()["results"][0]["result"] == "stale"

    assert sync(alice, late).json()["results"][0]["result"] == "duplicate"


def test_a_whole_batch_sent_again_is_all_duplicates(alice, track):
    steps = list(track.steps.order_by("position"))
    step_status_set(user=alice.user, step=steps[-1], status=Status.DONE, occurred_at=at(20))
    batch = [op(step, "done", at(n)) for n, step in enumerate(steps)]  # the last one stale
    batch.append(op(steps[0], "done", at(9)))  # applied, unchanged
    first = sync(alice, *batch).json()
    assert [(r["result"], r["changed"]) for r in first["results"]] == [
        *[("applied", True)] * (len(steps) - 1),
        ("stale", False),
        ("applied", False),
    ]

    again = sync(alice, *batch).json()

    assert [r["result"] for r in again["results"]] == ["duplicate"] * len(batch)
    assert again["statuses"] == first["statuses"]


def test_an_op_id_reused_for_another_change_is_rejected(alice, track):
    s0, s1 = track.steps.order_by("position")[:2]
    taken = op(s0, "done", at(1))
    sync(alice, taken)

    body = sync(
        alice,
        {**taken, "step": s1.pk},
        {**taken, "status": "skipped"},
        {**taken, "occurred_at": at(2).isoformat()},
    ).json()

    assert [(r["result"], r["reason"], r["changed"]) for r in body["results"]] == [
        ("rejected", "op_id_reused", False)
    ] * 3
    assert "already used for another change" in body["results"][0]["message"]
    assert (status_of(alice.user, s0), status_of(alice.user, s1)) == ("done", "todo")
    assert ProgressEvent.objects.count() == 1


def test_an_op_id_reused_in_the_same_batch_is_rejected(alice, track):
    s0, s1 = track.steps.order_by("position")[:2]
    same = uuid.uuid4()

    body = sync(alice, op(s0, "done", at(1), same), op(s1, "done", at(1), same)).json()

    assert [(r["result"], r["reason"]) for r in body["results"]] == [
        ("applied", None),
        ("rejected", "op_id_reused"),
    ]
    assert status_of(alice.user, s1) == "todo"


def test_the_same_time_in_another_offset_is_the_same_change(alice, track):
    s0 = track.steps.get(key="s0")
    taken = op(s0, "done", at(1))
    sync(alice, taken)
    elsewhere = at(1).astimezone(timezone.get_fixed_timezone(5 * 60 + 30)).isoformat()

    body = sync(alice, {**taken, "occurred_at": elsewhere}).json()

    assert body["results"][0]["result"] == "duplicate"


def test_a_rejected_op_is_not_taken_and_may_be_sent_again(alice, track):
    draft = build_track(steps=1, slug="later", is_published=False)
    step = draft.steps.get()
    queued = op(step, "done", at(1))
    assert sync(alice, queued).json()["results"][0]["reason"] == "unknown_step"
    Track.objects.filter(pk=draft.pk).update(is_published=True)

    assert sync(alice, queued).json()["results"][0]["result"] == "applied"


def test_op_ids_are_per_learner(alice, bob, track):
    s0 = track.steps.get(key="s0")
    shared = op(s0, "done", at(1))
    sync(alice, shared)

    assert sync(bob, shared).json()["results"][0]["result"] == "applied"
    assert sync(bob, {**shared, "status": "skipped"}).json()["results"][0]["reason"] == (
        "op_id_reused"
    )


def test_an_older_change_than_the_servers_is_stale(alice, track):
    s0 = track.steps.get(key="s0")
    # Done on the web at minute 10; the phone, offline, had started it at minute 5.
    step_status_set(user=alice.user, step=s0, status=Status.DONE, occurred_at=at(10))

    body = sync(alice, op(s0, "in_progress", at(5))).json()

    assert body["results"][0]["result"] == "stale"
    assert body["statuses"] == [
        {
            "step": s0.pk,
            "status": "done",
            "status_changed_at": at(10).isoformat().replace("+00:00", "Z"),
        }
    ]
    assert status_of(alice.user, s0) == "done"
    assert ProgressEvent.objects.count() == 1


def test_a_later_change_than_the_servers_wins(alice, track):
    s0 = track.steps.get(key="s0")
    step_status_set(user=alice.user, step=s0, status=Status.DONE, occurred_at=at(10))

    body = sync(alice, op(s0, "skipped", at(11))).json()

    assert body["results"][0]["result"] == "applied"
    assert status_of(alice.user, s0) == "skipped"


def test_order_of_arrival_does_not_matter_only_occurred_at(alice, bob, track):
    s0 = track.steps.get(key="s0")
    ops = [op(s0, "done", at(3)), op(s0, "in_progress", at(1)), op(s0, "skipped", at(2))]

    body = sync(alice, *ops).json()
    sync(bob, *[op(s0, o["status"], o["occurred_at"]) for o in reversed(ops)])

    # Applied in time order: the history is complete and the latest change holds.
    assert [r["result"] for r in body["results"]] == ["applied", "applied", "applied"]
    for learner in (alice, bob):
        assert status_of(learner.user, s0) == "done"
        history = ProgressEvent.objects.filter(user=learner.user).order_by("id")
        assert [(e.from_status, e.to_status) for e in history] == [
            ("todo", "in_progress"),
            ("in_progress", "skipped"),
            ("skipped", "done"),
        ]


def test_a_time_more_than_five_minutes_ahead_is_rejected(alice, track):
    s0, s1 = track.steps.order_by("position")[:2]
    now = timezone.now()

    body = sync(
        alice,
        op(s0, "done", now + timedelta(minutes=6)),
        op(s1, "done", now + timedelta(minutes=4)),
    ).json()

    rejected, applied = body["results"]
    assert (rejected["result"], rejected["reason"]) == ("rejected", "future_timestamp")
    assert "seconds in the future" in rejected["message"]
    assert applied["result"] == "applied"
    assert status_of(alice.user, s0) == "todo"


def test_unknown_steps_and_statuses_are_rejected_one_by_one(alice, track):
    s0 = track.steps.get(key="s0")
    draft = build_track(steps=1, slug="draft", is_published=False).steps.get()

    body = sync(
        alice,
        op(999_999, "done", at(1)),
        op(draft, "done", at(1)),
        op(s0, "finished", at(1)),
        op(s0, "done", at(2)),
    ).json()

    assert [(r["result"], r["reason"]) for r in body["results"]] == [
        ("rejected", "unknown_step"),
        ("rejected", "unknown_step"),
        ("rejected", "unknown_status"),
        ("applied", None),
    ]
    assert "use one of todo" in body["results"][2]["message"]
    assert [s["step"] for s in body["statuses"]] == [s0.pk]
    assert status_of(alice.user, draft) == "todo"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"op_id": "not-a-uuid"}, "operations.1.op_id"),
        ({"step": "three"}, "operations.1.step"),
        ({"step": 0}, "operations.1.step"),
        ({"step": 2**64}, "operations.1.step"),
        ({"occurred_at": "2025-01-01T10:00:00"}, "operations.1.occurred_at"),
        ({"occurred_at": "yesterday"}, "operations.1.occurred_at"),
        ({"status": ["done"]}, "operations.1.status"),
        ({"status": "do\x00ne"}, "operations.1.status"),
        ({"op_id": None}, "operations.1.op_id"),
    ],
)
def test_one_malformed_operation_refuses_the_whole_batch(alice, track, bad, field):
    s0, s1 = track.steps.order_by("position")[:2]
    ops = [op(s0, "done", at(1)), {**op(s1, "done", at(2)), **bad}]

    response = sync(alice, *ops)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert field in error["message"]
    assert not ProgressEvent.objects.exists()
    assert not StepProgress.objects.exists()


@pytest.mark.parametrize(
    "payload", [{}, {"operations": "done"}, {"operations": [1, 2]}, [], {"operations": None}]
)
def test_a_malformed_envelope_is_400(alice, payload):
    response = alice.post("progress/sync/", payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "operations" in error["fields"] or "Expected a dictionary" in error["message"]


def test_more_than_500_operations_are_refused(alice, track):
    s0 = track.steps.get(key="s0")

    response = sync(alice, *[op(s0, "done", at(n)) for n in range(501)])

    assert response.status_code == 400
    assert "At most 500 operations" in response.json()["error"]["message"]
    assert not ProgressEvent.objects.exists()


def test_an_empty_sync_just_gives_the_cursor(alice, track):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)

    body = sync(alice).json()

    assert body == {"results": [], "statuses": [], "cursor": ProgressEvent.objects.get().pk}


def test_sync_of_500_operations_is_a_fixed_number_of_queries(alice, django_assert_num_queries):
    steps = many_steps(500)
    ops = [op(step, "done", at(1)) for step in steps]
    # 1-3 session (exists, load) and user; 4 savepoint; 5 lock the user row; 6 the steps
    # (published, with their track); 7 op_ids taken before; 8 lock existing progress rows;
    # 9 insert the missing ones; 10 lock them; 11 upsert the 500 rows; 12 keep the 500
    # op_ids; 13 insert 500 events; 14-15 enrollments (insert missing, touch the rest);
    # 16 the cursor; 17 release.
    # SQLite allows 999 parameters per statement, so there the four bulk writes of 500
    # rows go in batches (placeholders 4, upsert 5, op_ids 4, events 5): a fixed 31.
    expected = 17 if connection.vendor == "postgresql" else 31
    with django_assert_num_queries(expected):
        response = sync(alice, *ops)
    assert [r["result"] for r in response.json()["results"]] == ["applied"] * 500
    assert ProgressEvent.objects.filter(user=alice.user).count() == 500


def test_pull_changes_from_every_device_since_a_cursor(alice, track):
    s0, s1, s2 = track.steps.order_by("position")[:3]
    cursor = sync(alice, op(s0, "done", at(1))).json()["cursor"]
    # Later, on the web and in admin:
    step_status_set(user=alice.user, step=s1, status=Status.IN_PROGRESS, source=Source.WEB)
    step_status_set(user=alice.user, step=s2, status=Status.SKIPPED, source=Source.ADMIN)

    body = alice.get("progress/changes/", {"since": cursor}).json()

    assert [(c["step"], c["to_status"], c["source"]) for c in body["changes"]] == [
        (s1.pk, "in_progress", "web"),
        (s2.pk, "skipped", "admin"),
    ]
    assert body["has_more"] is False
    assert alice.get("progress/changes/", {"since": body["cursor"]}).json() == {
        "changes": [],
        "cursor": body["cursor"],
        "has_more": False,
    }


def test_changes_come_a_page_at_a_time(alice, track, settings):
    settings.API_CHANGES_PAGE_SIZE = 2
    steps = list(track.steps.order_by("position"))
    sync(alice, *[op(step, "done", at(n)) for n, step in enumerate(steps)])

    pulled, cursor, more = [], 0, True
    while more:
        body = alice.get("progress/changes/", {"since": cursor}).json()
        pulled += [c["step"] for c in body["changes"]]
        cursor, more = body["cursor"], body["has_more"]

    assert pulled == [s.pk for s in steps]


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", str(2**64), "1\x00"])
def test_changes_with_a_bad_cursor_is_400(alice, since):
    response = alice.get("progress/changes/", {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["error"]["fields"]


def test_changes_is_one_query_after_sign_in(alice, track, django_assert_num_queries):
    sync(alice, *[op(step, "done", at(1)) for step in track.steps.all()])
    # 1-3 session (exists, load) and user; 4 the events after the cursor with their tracks
    with django_assert_num_queries(4):
        alice.get("progress/changes/", {"since": 0})


def test_mobile_learner_journey(alice, track):
    """Tick steps online, go offline, sync the queue, and pull what happened on the web."""
    steps = list(track.steps.order_by("position"))
    assert alice.put(f"progress/steps/{steps[0].pk}/", {"status": "done"}).status_code == 200
    cursor = alice.get("progress/changes/").json()["cursor"]
    # Offline: three changes queued on the phone; meanwhile the web marks step 3 done.
    queued = [op(steps[1], "in_progress", at(1)), op(steps[1], "done", at(2))]
    queued.append(op(steps[2], "in_progress", at(3)))
    step_status_set(user=alice.user, step=steps[3], status=Status.DONE, source=Source.WEB)

    synced = sync(alice, *queued).json()
    pulled = alice.get("progress/changes/", {"since": cursor}).json()

    assert [r["result"] for r in synced["results"]] == ["applied"] * 3
    assert {c["step"]: c["to_status"] for c in pulled["changes"]} == {
        steps[1].pk: "done",
        steps[2].pk: "in_progress",
        steps[3].pk: "done",
    }
    detail = alice.get(f"tracks/{track.slug}/").json()
    assert [s["status"] for s in detail["steps"]] == ["done", "done", "in_progress", "done"]
    assert Track.objects.get(pk=track.pk).enrollments.count() == 1
