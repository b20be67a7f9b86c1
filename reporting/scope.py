"""Whose figures a report counts: some agreements' leads, and optionally one team's part of them.

A team is its people (agreements.TeamMember). A sales team's figures are its members' work: the handoffs
made to them, the steps they took (accept, reject, qualify, close), the deadlines they missed, and the
leads any of that touched. A marketing team hands off through its agreements and owns no lead, so its
figures are those of the agreements it is the marketing side of. Both sides of an agreement being one
team each, a sales team that is a subset of an agreement's people (a region, a pod) is what makes the
filter tell something the agreement filter does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from agreements.models import Agreement, Team, TeamMember
from leads.models import Lead, LeadEvent
from leads.selectors import events_standing

Kind = LeadEvent.Kind


@dataclass(frozen=True)
class Scope:
    agreement_ids: tuple[int, ...]
    team_id: int | None = None
    # A sales team's members (ids and usernames); None counts everyone's work.
    member_ids: tuple[int, ...] | None = None
    member_names: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        return f"{'-'.join(map(str, self.agreement_ids))}:t{self.team_id or ''}"

    @property
    def by_members(self) -> bool:
        return self.member_ids is not None

    def events(self) -> QuerySet[LeadEvent]:
        """The events of the agreements' leads, and of a sales team only those its members are behind.

        Every event the figures count is a state-machine step naming the SLA version it applied; going
        through the (small) versions table rather than the leads table spares a join with every lead.
        """
        events = events_standing(LeadEvent.objects.filter(sla_version__agreement_id__in=self.agreement_ids))
        return events.filter(self.members_behind()) if self.by_members else events

    def members_behind(self) -> Q:
        """Who is behind an event: the rep a handoff went to, the rep who missed a deadline (both are
        written by SLA Portal itself, not by them), else whoever took the step."""
        names, ids = list(self.member_names or ()), list(self.member_ids or ())
        return (
            Q(kind=Kind.HANDED_OFF, details__owner__in=names)
            | Q(kind=Kind.BREACHED, details__missed_by__in=names)
            | (~Q(kind__in=[Kind.HANDED_OFF, Kind.BREACHED]) & Q(actor_id__in=ids))
        )

    def leads(self) -> QuerySet[Lead]:
        """The agreements' leads; of a sales team, those a member owns or was behind a step of."""
        leads = Lead.objects.filter(agreement_id__in=self.agreement_ids)
        if not self.by_members:
            return leads
        touched = LeadEvent.objects.filter(lead=OuterRef("pk")).filter(self.members_behind())
        return leads.filter(Q(owner_id__in=self.member_ids) | Exists(touched))

    def owned(self, leads: QuerySet[Lead]) -> QuerySet[Lead]:
        """`leads` whose owner is on the team (all of them without a team): who is late on them now."""
        return leads.filter(owner_id__in=self.member_ids) if self.by_members else leads


def scope_for(*, agreements: list[Agreement], team: Team | None = None) -> tuple[list[Agreement], Scope]:
    """The agreements a report covers with `team` chosen, and the scope of its figures."""
    if team is None:
        return agreements, Scope(tuple(sorted(a.pk for a in agreements)))
    if team.department == Team.Department.MARKETING:
        mine = [a for a in agreements if a.marketing_team_id == team.pk]
        return mine, Scope(tuple(sorted(a.pk for a in mine)), team_id=team.pk)
    members = list(
        TeamMember.objects.filter(team=team).order_by("user_id").values_list("user_id", "user__username")
    )
    return agreements, Scope(
        tuple(sorted(a.pk for a in agreements)),
        team_id=team.pk,
        member_ids=tuple(pk for pk, _ in members),
        member_names=tuple(name for _, name in members),
    )
