import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.progress.models import Enrollment, ProgressEvent, Source, Status, StepProgress
from apps.progress.services import step_status_set
from tests.factories import StepFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_first_change_records_event_and_enrolls(learner):
    step = StepFactory()

    change = step_status_set(user=learner, step=step, status=Status.IN_PROGRESS)

    assert change.changed
    assert change.progress.status == Status.IN_PROGRESS
    assert change.progress.started_at is not None
    event = ProgressEvent.objects.get()
    assert (event.from_status, event.to_status, event.source) == ("todo", "in_progress", "web")
    enrollment = Enrollment.objects.get(user=learner, track=step.track)
    assert enrollment.started_at == enrollment.last_activity_at


def test_done_sets_completed_and_undo_clears_it(learner):
    step = StepFactory()
    done = step_status_set(user=learner, step=step, status=Status.DONE)
    assert done.progress.completed_at is not None
    assert done.progress.started_at is not None

    back = step_status_set(user=learner, step=step, status=Status.TODO)

    assert back.progress.completed_at is None
    assert list(ProgressEvent.objects.order_by("id").values_list("from_status", "to_status")) == [
        ("todo", "done"),
        ("done", "todo"),
    ]


def test_setting_the_same_status_again_records_nothing(learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)

    again = step_status_set(user=learner, step=step, status=Status.DONE)

    assert not again.changed
    assert ProgressEvent.objects.count() == 1


def test_replayed_idempotency_key_changes_nothing(learner):
    step = StepFactory()
    first = step_status_set(user=learner, step=step, status=Status.DONE, idempotency_key="op-1")

    replay = step_status_set(user=learner, step=step, status=Status.SKIPPED, idempotency_key="op-1")

    assert replay.replayed and not replay.changed
    assert replay.event == first.event
    assert StepProgress.objects.get().status == Status.DONE
    assert ProgressEvent.objects.count() == 1


def test_idempotency_keys_are_per_learner(learner):
    step = StepFactory()
    other = UserFactory()
    step_status_set(user=learner, step=step, status=Status.DONE, idempotency_key="same")

    change = step_status_set(user=other, step=step, status=Status.DONE, idempotency_key="same")

    assert change.changed
    assert ProgressEvent.objects.count() == 2


@pytest.mark.parametrize("status", ["finished", "", "DONE", None])
def test_unknown_status_is_refused_and_nothing_is_written(learner, status):
    step = StepFactory()

    with pytest.raises(ApplicationError, match="is not a step status"):
        step_status_set(user=learner, step=step, status=status)

    assert not StepProgress.objects.exists()
    assert not ProgressEvent.objects.exists()
    assert not Enrollment.objects.exists()


def test_change_far_in_the_future_is_refused(learner):
    step = StepFactory()
    with pytest.raises(ApplicationError, match="in the future"):
        step_status_set(
            user=learner,
            step=step,
            status=Status.DONE,
            occurred_at=timezone.now() + timedelta(minutes=6),
        )
    assert not StepProgress.objects.exists()


def test_naive_time_is_refused(learner):
    step = StepFactory()
    with pytest.raises(ApplicationError, match="time zone"):
        step_status_set(
            user=learner,
            step=step,
            status=Status.DONE,
            occurred_at=timezone.now().replace(tzinfo=None),
        )


def test_client_time_is_kept_on_event(learner):
    step = StepFactory()
    when = timezone.now() - timedelta(days=2)

    step_status_set(
        user=learner, step=step, status=Status.DONE, occurred_at=when, source=Source.API
    )

    event = ProgressEvent.objects.get()
    assert event.occurred_at == when
    assert event.recorded_at > when
    assert event.source == Source.API


def test_later_activity_moves_last_activity_forward(learner):
    first, second = StepFactory(), None
    second = StepFactory(track=first.track)
    step_status_set(user=learner, step=first, status=Status.DONE)
    before = Enrollment.objects.get().last_activity_at

    step_status_set(user=learner, step=second, status=Status.DONE)

    enrollment = Enrollment.objects.get()
    assert enrollment.last_activity_at >= before
    assert Enrollment.objects.count() == 1


@pytest.mark.postgres
def test_status_change_query_budget(learner, django_assert_num_queries):
    step = StepFactory()
    # 1 the learner's row lock, progress row, event and enrollment in one statement
    with django_assert_num_queries(1):
        step_status_set(user=learner, step=step, status=Status.DONE)
    # A change of an existing row costs the same.
    with django_assert_num_queries(1):
        step_status_set(user=learner, step=step, status=Status.TODO)


def test_status_change_query_budget_without_postgresql(learner, django_assert_num_queries):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL writes a change in one statement (see the test above)")
    step = StepFactory()
    # 1 savepoint (the service's transaction inside the test's)  2 the learner's row lock
    # 3-6 progress row: locked select, savepoint, insert, release
    # 7 progress update  8 event insert
    # 9-12 enrollment: select, savepoint, insert, release  13 release
    with django_assert_num_queries(13):
        step_status_set(user=learner, step=step, status=Status.DONE)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_leave_one_row_and_one_event():
    learner = UserFactory()
    step = StepFactory()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def mark_done() -> None:
        try:
            barrier.wait()
            step_status_set(user=learner, step=step, status=Status.DONE)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # this thread's own; not left for the test database's drop

    threads = [threading.Thread(target=mark_done) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert StepProgress.objects.filter(user=learner, step=step).count() == 1
    assert ProgressEvent.objects.filter(user=learner, step=step).count() == 1
    assert Enrollment.objects.filter(user=learner).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_key_record_one_event():
    learner = UserFactory()
    step = StepFactory()
    barrier = threading.Barrier(3)
    statuses = [Status.DONE, Status.SKIPPED, Status.IN_PROGRESS]
    errors: list[BaseException] = []

    def send(status: str) -> None:
        try:
            barrier.wait()
            step_status_set(user=learner, step=step, status=status, idempotency_key="op-x")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # this thread's own; not left for the test database's drop

    threads = [threading.Thread(target=send, args=(s,)) for s in statuses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ProgressEvent.objects.filter(user=learner).count() == 1
    event = ProgressEvent.objects.get()
    assert StepProgress.objects.get().status == event.to_status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_learners_changes_wait_for_each_other_so_events_commit_in_order():
    from django.db import connection, transaction

    from apps.accounts.models import User

    learner = UserFactory()
    step = StepFactory()
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_the_learner() -> None:
        # Another change of the same learner, still open (a sync in progress, say).
        with transaction.atomic():
            list(User.objects.select_for_update(no_key=True).filter(pk=learner.pk))
            locked.set()
            release.wait(10)
        connection.close()

    def mark_done() -> None:
        step_status_set(user=learner, step=step, status=Status.DONE)
        done.set()
        connection.close()

    holder = threading.Thread(target=hold_the_learner)
    holder.start()
    assert locked.wait(10)
    writer = threading.Thread(target=mark_done)
    writer.start()

    assert not done.wait(0.5)  # waits for the other change to commit
    assert not ProgressEvent.objects.exists()
    release.set()
    holder.join()
    writer.join()
    assert done.is_set()
    assert ProgressEvent.objects.count() == 1
