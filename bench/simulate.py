"""One what-if of the bench data, in a process of its own so that its memory is its own: the last 12 whole
months replayed with the version in force handing off only hot leads (reporting.replay). Prints one JSON
line: seconds, peak resident memory, leads replayed, fidelity. `bench.run` calls it for `make bench`."""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import replace

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")
django.setup()

from django.utils import timezone  # noqa: E402

from agreements.models import Agreement, AgreementVersion  # noqa: E402
from reporting import replay, whatif  # noqa: E402
from reporting.services import agreement_timezone  # noqa: E402
from reporting.simulations import last_ended_months  # noqa: E402


def main() -> None:
    agreement = Agreement.objects.order_by("pk").first()
    version = agreement.versions.get(status=AgreementVersion.Status.ACTIVE)
    clauses = version.clauses
    hot_only = replace(clauses, handoff=replace(clauses.handoff, mql_threshold="hot"))
    tz = agreement_timezone(agreement)
    start, end = last_ended_months(timezone.now(), tz)
    started = time.perf_counter()
    results = whatif.simulate(
        agreement_id=agreement.pk,
        rules_at=replay.fixed(replay.Rules.of(hot_only)),
        start=start,
        end=end,
        tz=tz,
    )
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_kb / 1024,
                "replayed": results.replayed,
                "fidelity": results.fidelity,
                "mismatches": dict(results.mismatches),
                "changed": results.changed_count,
            }
        )
    )


if __name__ == "__main__":
    main()
