"""Every Stepwise task is bounded in time and survives the loss of its worker."""

import pytest

from config.celery_app import app

# What a worker imports at start (autodiscovery), so every task is registered here too.
app.loader.import_default_modules()
STEPWISE_TASKS = sorted(name for name, t in app.tasks.items() if t.__module__.startswith("apps."))


def test_the_tasks_are_found():
    assert {
        "apps.core.tasks.outbox_relay",
        "apps.linkhealth.tasks.links_check_chunk",
        "reminders.send_chunk",
    } <= set(STEPWISE_TASKS)


@pytest.mark.parametrize("name", STEPWISE_TASKS)
def test_every_task_has_a_soft_and_a_hard_time_limit(name):
    task = app.tasks[name]

    assert task.soft_time_limit, f"{name} may run for ever"
    assert task.time_limit, f"{name} may run for ever"
    # The soft limit comes first, so the task can record what it did before it is killed.
    assert task.soft_time_limit < task.time_limit


@pytest.mark.parametrize("name", STEPWISE_TASKS)
def test_every_task_is_redelivered_when_its_worker_is_lost(name):
    task = app.tasks[name]

    assert task.acks_late and task.reject_on_worker_lost


def test_a_worker_process_loads_the_urls_and_freezes_what_it_loaded_when_it_starts():
    import gc

    from celery.signals import worker_process_init
    from django.urls import clear_url_caches, get_resolver

    from apps.core.tasks import _worker_process_prepare

    assert any(
        receiver() is _worker_process_prepare for _, receiver in worker_process_init.receivers
    )
    clear_url_caches()
    assert not get_resolver()._populated
    try:
        worker_process_init.send(sender=None)

        assert get_resolver()._populated  # the first email's reverse() finds it done
        assert gc.get_freeze_count() > 10_000  # Django, Celery and the apps at least
    finally:
        gc.unfreeze()
