"""Two what-ifs of the demo SLA, run at seeding time so the demo shows their results at once: a draft v2
that gives sales two business hours for a hot lead (simulated on the draft's page, as marketing would
before sending it for signature), and handing off only hot leads, asked as a change to the version in
force (as a CRM admin would over the API). An agreement has one open version at a time, so the second
what-if is not a draft of its own."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from agreements import services as agreement_services
from agreements.models import Agreement, AgreementVersion
from reporting import simulations
from reporting.models import Simulation

Status = AgreementVersion.Status


def seed_simulations() -> int:
    """Create the draft and run both unless the demo has simulations or an open version. Returns how many
    ran."""
    if Simulation.objects.exists():
        return 0
    agreement = Agreement.objects.order_by("pk").first()
    marketer = get_user_model().objects.filter(username="marketing").first()
    if agreement is None or marketer is None or not agreement.versions.filter(status=Status.ACTIVE).exists():
        return 0
    if agreement.versions.filter(status__in=(Status.DRAFT, Status.IN_REVIEW)).exists():
        return 0  # someone's draft: the demo leaves it alone
    # The draft and both requests together: a seed stopped between them would leave a draft that makes
    # every later seed skip the simulations.
    with transaction.atomic():
        draft = agreement_services.version_create_draft(agreement=agreement, actor=marketer)
        handoff = draft.section_map["handoff"]
        agreement_services.version_update_section(
            version=draft,
            key="handoff",
            data={**handoff.data, "pickup_hours": {**handoff.data["pickup_hours"], "hot": 2}},
            prose=f"{handoff.prose} Proposed: two business hours to pick up a hot lead, as reps in "
            "customer meetings miss the one hour.",
            actor=marketer,
        )
        asked = [
            simulations.simulation_request(agreement=agreement, user=marketer, version=draft),
            simulations.simulation_request(
                agreement=agreement, user=marketer, changes={"mql_threshold": "hot"}
            ),
        ]
    # Run here, not by the worker: the demo opens with results. The queued messages then find them done.
    return sum(simulations.simulation_run(simulation.pk) == Simulation.Status.DONE for simulation in asked)
