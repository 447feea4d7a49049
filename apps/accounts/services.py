"""State changes to accounts."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import User

CURATORS_GROUP = "Curators"


@transaction.atomic
def curators_group_ensure() -> Group:
    """The group staff curators belong to.

    They edit content, link health (reports, digest opt-in) and the background job
    schedules, and look at learners' progress and reminder deliveries without changing them.
    """
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    permissions = Permission.objects.filter(
        Q(content_type__app_label__in=["content", "linkhealth", "django_celery_beat"])
        | Q(content_type__app_label__in=["progress", "reminders"], codename__startswith="view_")
    )
    group.permissions.set(permissions)
    return group


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    timezone: str = "UTC",
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """Create an account; with ``email_verified`` its address is recorded as confirmed."""
    from allauth.account.models import EmailAddress

    user = User(
        email=User.objects.normalize_email(email).lower(),
        display_name=display_name,
        timezone=timezone,
        is_staff=is_staff,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user


@transaction.atomic
def user_profile_update(
    *, user: User, display_name: str | None = None, timezone: str | None = None
) -> User:
    """Change the learner's display name and/or time zone (validated)."""
    if display_name is not None:
        user.display_name = display_name.strip()
    if timezone is not None:
        user.timezone = timezone
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=["display_name", "timezone"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account and, with it, all of the learner's progress, events and enrollments."""
    user.delete()
