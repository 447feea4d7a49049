"""The one vocabulary of link health: what a check finds and what Stepwise believes.

The checker, the database, admin and the pages all speak it. It knows nothing of the
database beyond Django's choices, so the checker can use it on its own.
"""

from django.db import models


class Outcome(models.TextChoices):
    """What one check of a link found, or what Stepwise believes about the link after
    damping (``ResourceHealth.health``).

    A check never finds ``unknown`` (a link never checked); a link's health is never
    ``refused`` (a URL the checker would not fetch counts as an error).
    """

    UNKNOWN = "unknown", "Unknown"
    OK = "ok", "OK"
    MOVED = "moved", "Moved"
    BROKEN = "broken", "Broken"
    ERROR = "error", "Error"
    BLOCKED = "blocked", "Blocked (could not verify)"
    REFUSED = "refused", "Refused (unsafe)"


#: What one check can find, as (value, label).
CHECK_CHOICES = [(o.value, o.label) for o in Outcome if o != Outcome.UNKNOWN]
#: What a link's health can be, as (value, label).
HEALTH_CHOICES = [(o.value, o.label) for o in Outcome if o != Outcome.REFUSED]
