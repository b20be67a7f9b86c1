"""Who may do what with the SLA document. Views, the API and services all ask here."""

from __future__ import annotations

from typing import Any

from slaportal.roles import Role, has_role

EDITOR_ROLES = (Role.MARKETING, Role.MARKETING_APPROVER, Role.ADMIN)
# Those who write the SLA and those who sign it: they weigh what a version would do (its simulations).
WEIGHER_ROLES = (*EDITOR_ROLES, Role.SALES_MANAGER)
SIGNER_ROLES = {"marketing": Role.MARKETING_APPROVER, "sales": Role.SALES_MANAGER}


def can_edit(user: Any) -> bool:
    """Marketers write the SLA; admins may fix it."""
    return has_role(user, *EDITOR_ROLES)


def can_weigh(user: Any) -> bool:
    """Sees what a version would have done to past leads: who writes the SLA, and both sides' signers."""
    return has_role(user, *WEIGHER_ROLES)


def can_sign(user: Any, side: str) -> bool:
    role = SIGNER_ROLES.get(side)
    return role is not None and has_role(user, role)


def signable_sides(user: Any) -> list[str]:
    return [side for side in SIGNER_ROLES if can_sign(user, side)]


def can_review(user: Any) -> bool:
    """Approvers of either side may send a version under review back to draft."""
    return bool(signable_sides(user))
