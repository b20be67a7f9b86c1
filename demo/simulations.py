"""Two what-ifs of the demo SLA's version in force, run at seeding time so the demo shows their results at
once: giving sales two business hours for a hot lead, and handing off only hot leads."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from agreements.models import Agreement, AgreementVersion
from reporting import simulations
from reporting.models import Simulation


def seed_simulations() -> int:
    """Run both unless the demo has simulations. Returns how many ran."""
    if Simulation.objects.exists():
        return 0
    agreement = Agreement.objects.order_by("pk").first()
    marketer = get_user_model().objects.filter(username="marketing").first()
    version = agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first() if agreement else None
    if version is None or marketer is None:
        return 0
    pickup = {**version.clauses.handoff.pickup_hours, "hot": 2}
    asked = [
        simulations.simulation_request(
            agreement=agreement, user=marketer, changes={"pickup_deadlines_business_hours": pickup}
        ),
        simulations.simulation_request(agreement=agreement, user=marketer, changes={"mql_threshold": "hot"}),
    ]
    # Run here, not by the worker: the demo opens with results. The queued messages then find them done.
    return sum(simulations.simulation_run(simulation.pk) == Simulation.Status.DONE for simulation in asked)
