"""What the admin's step and resource forms post, for tests that save through the admin."""

from typing import Any

from apps.content.models import Resource, Step


def step_form_data(step: Step, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "track": step.track_id,
        "key": step.key,
        "position": step.position,
        "title": step.title,
        "description": "",
        "estimated_minutes": step.estimated_minutes,
        "prerequisites": [],
        "step_resources-TOTAL_FORMS": 0,
        "step_resources-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


def resource_form_data(resource: Resource, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": resource.url,
        "title": resource.title,
        "kind": resource.kind,
        "provider": resource.provider,
        "cost": resource.cost,
        "duration": resource.duration,
        "language": resource.language,
        "step_links-TOTAL_FORMS": 0,
        "step_links-INITIAL_FORMS": 0,
        # Link health's check history, shown on a saved resource.
        "link_checks-TOTAL_FORMS": 0,
        "link_checks-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data
