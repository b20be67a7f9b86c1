"""Two what-ifs of the demo SLA, run at seeding time so the demo shows their results at once: a draft that
gives sales two business hours for a hot lead, and handing off only hot leads."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from agreements import services as agreement_services
from agreements.models import Agreement
from reporting import simulations
from reporting.models import Simulation


def seed_simulations() -> int:
    """Create the draft and both simulations unless the demo has simulations. Returns how many ran."""
    if Simulation.objects.exists():
        return 0
    agreement = Agreement.objects.order_by("pk").first()
    marketer = get_user_model().objects.filter(username="marketing").first()
    if agreement is None or marketer is None or agreement.versions.filter(status="draft").exists():
        return 0
    draft = agreement_services.version_create_draft(agreement=agreement, actor=marketer)
    handoff = draft.section_map["handoff"]
    pickup = {**handoff.data["pickup_hours"], "hot": 2}
    agreement_services.version_update_section(
        version=draft,
        key="handoff",
        data={**handoff.data, "pickup_hours": pickup},
        prose=handoff.prose,
        actor=marketer,
    )
    asked = [
        simulations.simulation_request(agreement=agreement, user=marketer, version=draft),
        simulations.simulation_request(agreement=agreement, user=marketer, changes={"mql_threshold": "hot"}),
    ]
    # Run here, not by the worker: the demo opens with results. The queued messages then find them done.
    return sum(simulations.simulation_run(simulation.pk) == Simulation.Status.DONE for simulation in asked)
