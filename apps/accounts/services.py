"""State changes to accounts."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import User

CURATORS_GROUP = "Curators"


@transaction.atomic
def curators_group_ensure() -> Group:
    """The group staff curators belong to: edit content, view learners' progress."""
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    permissions = Permission.objects.filter(
        Q(content_type__app_label="content")
        | Q(content_type__app_label="progress", codename__startswith="view_")
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
