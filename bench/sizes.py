"""`make bench`: the benchmarks at each size of BENCH_SIZES (100,000 and 1,000,000 leads by default), each
in a database of its own, then each figure's ratio between the smallest and the largest size. What a
request, a sweep or a dashboard costs should not grow with the table: the target is a ratio of 1.5 at
most (the report build grows with the month's events, so it has none).

Each size runs `bench.run` in a process of its own (the database is chosen at start-up); BENCH_ONLY,
BENCH_SECONDS and the rest pass through.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "postgres://postgres@127.0.0.1:5432/slaportal_bench"
TARGET = 1.5
# Figures that are measured per size but are not costs (the data itself, or the size of a month).
NOT_COSTS = (
    "leads in the table",
    "leads waiting for pickup",
    "monthly report build",
    "report build queries",
    # A simulation replays every lead of the year: it grows with them, by design (its target scales).
    "12 months replayed",
    "peak memory of the replay",
    "fidelity of the versions in force",
)


def database_url(leads: int, largest: int) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", BASE_URL))
    return base.geturl() if leads == largest else base._replace(path=f"{base.path}_{leads}").geturl()


def run(leads: int, largest: int, stamp: str) -> Path:
    out = ROOT / "var" / "bench" / f"{stamp}-{leads}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BENCH_LEADS": str(leads), "BENCH_OUT": str(out)}
    env["DATABASE_URL"] = database_url(leads, largest)
    subprocess.run([sys.executable, "-m", "bench.run"], cwd=ROOT, env=env, check=True)
    return out


def cost_ratio(unit: str, small: float, large: float) -> float | None:
    """How much more the figure costs at the large size: time grows up, a rate grows down."""
    if small <= 0 or large <= 0:
        return None
    if unit.endswith("/s"):
        return small / large
    if unit in ("ms", "queries"):
        return large / small
    return None


def main() -> None:
    sizes = sorted(int(s) for s in os.environ.get("BENCH_SIZES", "100000,1000000").split(",") if s.strip())
    stamp = time.strftime("%Y%m%dT%H%M%S")
    files = {leads: run(leads, sizes[-1], stamp) for leads in sizes}
    if len(sizes) >= 2:
        compare(files, stamp)


def compare(files: dict[int, Path], stamp: str) -> None:
    sizes = sorted(files)
    read = {
        leads: {(r["bench"], r["figure"]): r for r in map(json.loads, path.read_text().splitlines())}
        for leads, path in files.items()
    }
    small, large = sizes[0], sizes[-1]
    print(f"\nCost at {large:,} leads against {small:,} (target ≤ {TARGET}):")
    rows = []
    for key, row in read[large].items():
        other = read[small].get(key)
        if other is None or key[1].startswith(NOT_COSTS):
            continue
        if row.get("breached") != other.get("breached"):
            # The smaller table has fewer leads waiting than the figure asks to make overdue.
            print(
                f"  {key[0]:<10} {key[1]:<44}  not comparable: {other['breached']:,} vs {row['breached']:,}"
            )
            continue
        ratio = cost_ratio(row["unit"], float(other["value"]), float(row["value"]))
        if ratio is None:
            continue
        met = ratio <= TARGET
        rows.append({"bench": key[0], "figure": key[1], "ratio": round(ratio, 2), "met": met})
        print(f"  {key[0]:<10} {key[1]:<44} {ratio:>6.2f}  {'ok' if met else 'MISSED'}")
    summary = ROOT / "var" / "bench" / f"{stamp}-ratios.json"
    summary.write_text(json.dumps({"sizes": sizes, "ratios": rows}, indent=1))
    print(f"\nRatios in {summary.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
