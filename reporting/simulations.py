"""What-ifs: ask for a simulation of other clauses against an agreement's past leads, run it (the Celery
task calls `simulation_run`), cancel it. The replay itself is reporting.replay; this module validates,
stores and keeps the run's state, one transition at a time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agreements import permissions
from agreements.clauses import (
    CALENDAR_KEYS,
    ClauseError,
    parse_clauses,
    parse_section,
    sentences,
    to_data,
)
from agreements.models import Agreement, AgreementVersion
from reporting import replay, whatif
from reporting.models import Simulation
from reporting.services import agreement_timezone
from slaportal.formats import utc_iso

log = logging.getLogger(__name__)
Status = Simulation.Status
DEFAULT_MONTHS = 12
LONGEST = timedelta(days=731)  # two years at most: a replay reads every lead of the window
# A run that has not touched its row for this long died with its worker: another may take it over.
STALE = timedelta(minutes=5)
PROGRESS_EVERY = 1000  # leads
# The keys of `changes`, as GET /api/v1/agreements/active/ names them: (section, key in its data).
CHANGES = {
    "icp_criteria": ("icp", "criteria"),
    "temperature": ("temperature", None),
    "mql_threshold": ("handoff", "mql_threshold"),
    "icp_fit_required": ("handoff", "icp_fit_required"),
    "pickup_deadlines_business_hours": ("handoff", "pickup_hours"),
    "calendar": ("handoff", None),
}


# Each change, named for people, and the clauses (by id prefix) whose sentences say what it became.
CHANGE_WORDS = {
    "icp_criteria": ("the ICP", "icp", ("icp.",)),
    "temperature": ("the temperature rules", "temperature", ("temperature.marketing.", "temperature.window")),
    "mql_threshold": ("the MQL threshold", "handoff", ("handoff.threshold",)),
    "icp_fit_required": ("whether an MQL must fit the ICP", "handoff", ("handoff.threshold",)),
    "pickup_deadlines_business_hours": ("the pickup deadlines", "handoff", ("handoff.pickup.",)),
    "calendar": ("the business calendar", "handoff", ("handoff.calendar",)),
}


def change_names(changes: dict[str, Any]) -> str:
    """ "the MQL threshold and the pickup deadlines" """
    names = [CHANGE_WORDS[key][0] if key in CHANGE_WORDS else key for key in changes]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def change_sentences(simulation: Simulation) -> list[str]:
    """The changed clauses as the simulated version would read them."""
    said: list[str] = []
    for key in simulation.changes or {}:
        if key not in CHANGE_WORDS:
            continue
        _, section, prefixes = CHANGE_WORDS[key]
        try:
            parsed = parse_section(section, (simulation.sections or {}).get(section))
        except ClauseError:  # clauses stored by an older release: say nothing rather than fail
            continue
        said += [text for clause, text in sentences(section, parsed) if clause.startswith(prefixes)]
    return list(dict.fromkeys(said))


class SimulationError(Exception):
    """Refused: `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class Cancelled(Exception):
    pass


def can_simulate(user: Any) -> bool:
    """Marketing simulates drafts (the people who write the SLA)."""
    return permissions.can_edit(user)


def can_view(user: Any) -> bool:
    """Both sides' approvers and managers see what they are asked to sign."""
    return permissions.can_weigh(user)


def last_ended_months(now: datetime, tz: str, months: int = DEFAULT_MONTHS) -> tuple[datetime, datetime]:
    """The `months` whole months (in `tz`) that ended before `now`."""
    local = now.astimezone(ZoneInfo(tz))
    end = datetime(local.year, local.month, 1, tzinfo=ZoneInfo(tz))
    year, month = end.year, end.month - months
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=ZoneInfo(tz)), end


def apply_changes(sections: dict[str, Any], changes: Any) -> dict[str, Any]:
    """The sections' data with `changes` applied; each change checked by the section's own parser, so an
    invalid one gets the editor's message, keyed by the change's name."""
    if not isinstance(changes, dict) or not changes:
        raise SimulationError({"changes": ["Give at least one clause to change, as an object."]})
    unknown = sorted(set(changes) - set(CHANGES))
    if unknown:
        raise SimulationError(
            {
                name: [f"Not a clause a simulation can change; use one of: {', '.join(CHANGES)}."]
                for name in unknown
            }
        )
    out = {key: dict(value) if isinstance(value, dict) else value for key, value in sections.items()}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        section, key = CHANGES[name]
        data = dict(out.get(section) or {})
        if key is not None:
            data[key] = value
        elif not isinstance(value, dict):
            errors[name] = ["Must be an object."]
            continue
        else:
            allowed = CALENDAR_KEYS if name == "calendar" else tuple(data)
            extra = sorted(set(value) - set(allowed))
            if extra:
                errors[name] = [f"Unknown keys: {', '.join(extra)}."]
                continue
            data.update(value)
        out[section] = data
        try:
            parse_clauses(out)
        except ClauseError as exc:
            errors[name] = [message for messages in exc.errors.values() for message in messages]
            out[section] = sections.get(section)
    if errors:
        raise SimulationError(errors)
    return out


def simulation_request(
    *,
    agreement: Agreement,
    user: Any,
    version: AgreementVersion | None = None,
    changes: dict[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> Simulation:
    """Store a simulation of `version` (any version of the agreement), or of `changes` to the version in
    force, over [start, end) (default: the last 12 ended months), and queue its run."""
    now = now or timezone.now()
    if not can_simulate(user):
        raise PermissionError("Only marketing simulates an SLA.")
    if (version is None) == (changes is None):
        raise SimulationError(
            {"version": ["Give a version to simulate, or changes to the version in force."]}
        )
    tz = agreement_timezone(agreement)
    default_start, default_end = last_ended_months(now, tz)
    start, end = start or default_start, end or default_end
    errors: dict[str, list[str]] = {}
    if end > now:
        errors["to"] = ["Must not be in the future: a simulation replays what happened."]
    if start >= end:
        errors["from"] = ["Must be before `to`."]
    elif end - start > LONGEST:
        errors["from"] = ["A simulation covers two years at most."]
    if version is not None and version.agreement_id != agreement.pk:
        errors["version"] = ["Not a version of this agreement."]
    if errors:
        raise SimulationError(errors)
    if version is None:
        version = agreement.versions.filter(status=AgreementVersion.Status.ACTIVE).first()
        if version is None:
            raise SimulationError({"changes": ["No version is in force to apply changes to."]})
        sections = apply_changes(_sections(version), changes)
    else:
        sections = _sections(version)
        try:
            parse_clauses(sections)
        except ClauseError as exc:
            raise SimulationError(
                {f"version.{path}": messages for path, messages in exc.errors.items()}
            ) from exc
    # The same replay still waiting or running answers for this one: a double click, a retried request.
    for other in Simulation.objects.filter(
        agreement=agreement, version=version, start=start, end=end, status__in=(Status.QUEUED, Status.RUNNING)
    ).order_by("-pk"):
        if (other.changes, other.sections) == (changes or {}, sections):
            return other
    simulation = Simulation.objects.create(
        agreement=agreement,
        version=version,
        changes=changes or {},
        sections=sections,
        start=start,
        end=end,
        tz=tz,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        created_at=now,
    )
    transaction.on_commit(lambda: _queue(simulation.pk))
    return simulation


def _sections(version: AgreementVersion) -> dict[str, Any]:
    return {key: to_data(section) for key, section in vars(version.clauses).items()}


def _queue(pk: int) -> None:
    try:
        # By the task's name: reporting.tasks calls this module, not the other way round.
        current_app.send_task("reporting.run_simulation", args=(pk,), retry=False)
    except Exception as exc:  # the broker is down: the beat's sweep starts it later
        log.warning("Simulation %s not queued (%s); the periodic sweep will start it.", pk, exc)


def simulation_cancel(*, simulation: Simulation, user: Any, now: datetime | None = None) -> Simulation:
    """Ask a queued or running simulation to stop; a finished one stays as it is."""
    now = now or timezone.now()
    if not can_simulate(user):
        raise PermissionError("Only marketing cancels a simulation.")
    Simulation.objects.filter(pk=simulation.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=now
    )
    Simulation.objects.filter(pk=simulation.pk, status=Status.RUNNING).update(cancel_requested=True)
    simulation.refresh_from_db()
    return simulation


def simulations_restart(*, now: datetime | None = None) -> list[int]:
    """Queue again each simulation waiting longer than a run's heartbeat: queued while the broker was
    down, or running on a worker that died. The run's claim keeps two of them from both running it."""
    now = now or timezone.now()
    waiting = Simulation.objects.filter(
        Q(status=Status.QUEUED, created_at__lt=now - STALE)
        | Q(status=Status.RUNNING, heartbeat_at__lt=now - STALE)
    ).values_list("pk", flat=True)
    ids = list(waiting[:20])
    for pk in ids:
        _queue(pk)
    return ids


def _claim(pk: int, now: datetime) -> bool:
    """Take the run: a queued simulation, or a running one whose worker stopped touching it."""
    return bool(
        Simulation.objects.filter(pk=pk)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=now - STALE))
        .update(status=Status.RUNNING, heartbeat_at=now, progress=0.0)
    )


def simulation_run(pk: int, *, now: datetime | None = None) -> str:
    """Run the simulation `pk` unless another run has it; returns its status at the end."""
    now = now or timezone.now()
    if not _claim(pk, now):
        return Simulation.objects.filter(pk=pk).values_list("status", flat=True).first() or "missing"
    simulation = Simulation.objects.get(pk=pk)
    try:
        rules = replay.Rules.of(parse_clauses(simulation.sections))
        total = replay.lead_count(simulation.agreement_id, simulation.start, simulation.end)
        Simulation.objects.filter(pk=pk).update(leads_total=total)

        def progress(done: int) -> None:
            state = Simulation.objects.filter(pk=pk).values_list("cancel_requested", flat=True).first()
            if state is not False:
                raise Cancelled
            Simulation.objects.filter(pk=pk).update(
                progress=min(done / total, 0.99) if total else 0.0, heartbeat_at=timezone.now()
            )

        results = whatif.simulate(
            agreement_id=simulation.agreement_id,
            rules_at=replay.fixed(rules),
            start=simulation.start,
            end=simulation.end,
            tz=simulation.tz,
            progress=progress,
            every=PROGRESS_EVERY,
        )
    except Cancelled:
        _finish(pk, Status.CANCELLED)
        return Status.CANCELLED
    except Exception as exc:
        log.exception("Simulation %s failed", pk)
        _finish(pk, Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        return Status.FAILED
    _finish(pk, Status.DONE, results=results_data(results))
    return Status.DONE


def _finish(pk: int, status: str, **fields: Any) -> None:
    if status == Status.DONE:
        fields["progress"] = 1.0
    Simulation.objects.filter(pk=pk, status=Status.RUNNING).update(
        status=status, finished_at=timezone.now(), **fields
    )


def stored_results(simulation: Simulation) -> dict[str, Any]:
    """The simulation's results as stored, each month's figures complete: results stored by an earlier
    release lack the figures added since (and left out counts that stayed 0)."""
    results = simulation.results
    if not results:
        return {}
    months = [
        {
            **m,
            "recorded": whatif.month_figures(m["recorded"]),
            "simulated": whatif.month_figures(m["simulated"]),
        }
        for m in results.get("months", [])
    ]
    return {**results, "months": months}


def results_data(results: whatif.Results) -> dict[str, Any]:
    """The results as JSON: monthly figures side by side, fidelity, the changed leads."""

    def at(value: datetime | None) -> str | None:
        return utc_iso(value) if value else None

    def side(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, **{k: at(data[k]) for k in ("mql_at", "handoff_at", "deadline")}}

    return {
        "months": [
            {
                "month": m,
                "recorded": whatif.month_figures(results.recorded[m]),
                "simulated": whatif.month_figures(results.simulated[m]),
            }
            for m in results.months
        ],
        "fidelity": {
            "share": results.fidelity,
            "leads": results.replayed,
            "reproduced": results.matched,
            "mismatches": [
                {"kind": kind, "leads": n, "why": replay.MISMATCHES[kind]}
                for kind, n in results.mismatches.most_common()
            ],
        },
        "changed_leads": results.changed_count,
        "changed": [
            {**c, "recorded": side(c["recorded"]), "simulated": side(c["simulated"])} for c in results.changed
        ],
    }
