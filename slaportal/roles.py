"""Roles are Django groups. Every permission check in views and the API goes through this module."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class Role(StrEnum):
    MARKETING = "marketing"
    MARKETING_APPROVER = "marketing approver"
    SALES_REP = "sales rep"
    SALES_MANAGER = "sales manager"  # also the sales approver of the SLA
    ADMIN = "admin"


def user_roles(user: Any) -> frozenset[Role]:
    """The user's roles, computed once per user object (one query, then cached on it)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_slaportal_roles", None)
    if cached is None:
        remember_roles(user, set(user.groups.values_list("name", flat=True)))
        cached = user._slaportal_roles
    return cached


def remember_roles(user: Any, group_names: set[str]) -> None:
    """Cache the user's roles from the names of their groups, read by the query that loaded them."""
    roles = frozenset(role for role in Role if role.value in group_names)
    user._slaportal_roles = roles | {Role.ADMIN} if user.is_superuser else roles


def has_role(user: Any, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


def role_required(*roles: Role) -> Callable:
    """Log in first, then 403 unless the user holds one of `roles`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def roles_context(request: HttpRequest) -> dict[str, Any]:
    roles = user_roles(getattr(request, "user", None))
    # Names for checks in templates ('sales_rep' in user_roles), and words for people to read.
    return {
        "user_roles": {role.name.lower() for role in roles},
        "user_role_labels": sorted(role.value for role in roles),
    }


def users_with(role: Role) -> Any:
    """The active users who hold `role` (superusers hold admin)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    holds = Q(groups__name=role.value) | (Q(is_superuser=True) if role == Role.ADMIN else Q(pk__in=[]))
    return get_user_model().objects.filter(holds, is_active=True).distinct()
