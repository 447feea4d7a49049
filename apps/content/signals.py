"""Bump the content revision whenever content changes, whoever changes it.

Admin edits save models one at a time, so signals catch them; services that write in
bulk (``update``, ``bulk_create``) bump the revision themselves.
"""

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from apps.content.models import Resource, Step, StepResource, Track


def _bump(sender: Any, **kwargs: Any) -> None:
    from apps.content.services import content_revision_bump

    if kwargs.get("raw"):  # loading fixtures
        return
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return
    content_revision_bump()


def connect() -> None:
    for model in (Track, Step, Resource, StepResource):
        post_save.connect(
            _bump, sender=model, dispatch_uid=f"content-revision-save-{model.__name__}"
        )
        post_delete.connect(
            _bump, sender=model, dispatch_uid=f"content-revision-delete-{model.__name__}"
        )
    m2m_changed.connect(
        _bump, sender=Step.prerequisites.through, dispatch_uid="content-revision-prerequisites"
    )
