"""Who may see and act on which lead. Views, the API and services ask here."""

from __future__ import annotations

from typing import Any

from slaportal.roles import Role, has_role

ALL_LEADS_ROLES = (Role.MARKETING, Role.MARKETING_APPROVER, Role.SALES_MANAGER, Role.ADMIN)
INBOX_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)
MANAGER_ROLES = (Role.SALES_MANAGER, Role.ADMIN)
# The owner (a rep) or anyone who manages sales closes a lead; the service checks which lead.
CLOSE_ROLES = (Role.SALES_REP, *MANAGER_ROLES)
# Leads and engagement come in from marketing's systems (integrations act with their token's role).
SENDS_LEADS_ROLES = (Role.MARKETING, Role.MARKETING_APPROVER, Role.ADMIN)


def can_view_all(user: Any) -> bool:
    return has_role(user, *ALL_LEADS_ROLES)


def can_view_lead(user: Any, lead: Any) -> bool:
    """Marketing and managers see every lead; a rep the leads they own, and those they handed back while
    no one else owns them (their history)."""
    if can_view_all(user):
        return True
    if not has_role(user, Role.SALES_REP):
        return False
    from leads.models import LeadEvent  # the models import nothing of this module; this keeps it so

    if lead.owner_id is not None:
        return lead.owner_id == user.pk
    # No one owns it since they handed it back: it stays in their history (leads.selectors.handled_by).
    return LeadEvent.objects.filter(lead_id=lead.pk, actor=user).exists()


def is_manager(user: Any) -> bool:
    return has_role(user, *MANAGER_ROLES)


def is_owner(user: Any, lead: Any) -> bool:
    return lead.owner_id is not None and lead.owner_id == getattr(user, "pk", None)


# Erasing a person's data is irreversible: admins only (and integrations acting with an admin's token).
ERASE_ROLES = (Role.ADMIN,)


def can_erase(user: Any) -> bool:
    return has_role(user, *ERASE_ROLES)
