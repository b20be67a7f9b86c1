"""`make bench`: load a million leads (once), then measure the API, the overdue sweep, the dashboard and a
report build on them. One JSON line per figure goes to var/bench/<time>.jsonl; a table goes to stdout.

Environment: DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/slaportal_bench, a
database of its own, as the data stays between runs), CELERY_BROKER_URL (Redis), BENCH_LEADS (1000000),
BENCH_SECONDS (per HTTP figure, 15), BENCH_WORKERS (gunicorn sync workers; one per core by default, as
the load generator shares the machine), BENCH_REGENERATE=1 to load the data again.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaportal.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/slaportal_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
# Tasks the server queues while measured (outbox nudges) go to a queue of the bench's, emptied after.
os.environ.setdefault("CELERY_QUEUE", "slaportal-bench")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from agreements.models import Agreement  # noqa: E402
from bench import generate  # noqa: E402
from integrations.tokens import token_create  # noqa: E402
from leads.models import Activity, Lead  # noqa: E402
from leads.services import escalation  # noqa: E402
from reporting.models import MonthlyReport  # noqa: E402
from reporting.periods import period_containing  # noqa: E402
from reporting.selectors import monthly_trends  # noqa: E402
from reporting.services import agreement_timezone, report_build  # noqa: E402

LEADS = int(os.environ.get("BENCH_LEADS", "1000000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 1)))


class Figures:
    def __init__(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        # bench.sizes names the file of each size's run, to compare them after.
        self.path = Path(os.environ.get("BENCH_OUT") or ROOT / "var" / "bench" / f"{stamp}.jsonl")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        self.context = {
            "leads": LEADS,
            "cpus": os.cpu_count(),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "database": connection.vendor,
            # The server settings the figures were measured with (README, Performance).
            "postgres": _settings(),
        }

    def add(
        self,
        bench: str,
        figure: str,
        value: float,
        unit: str,
        target: str = "",
        met: bool | None = None,
        **extra: Any,
    ) -> None:
        row = {
            "bench": bench,
            "figure": figure,
            "value": value,
            "unit": unit,
            "target": target,
            "met": met,
            **extra,
            **self.context,
            "at": timezone.now().isoformat(timespec="seconds"),
        }
        self.rows.append(row)
        with self.path.open("a") as out:
            out.write(json.dumps(row, default=str) + "\n")
        mark = "" if met is None else ("  ok" if met else "  MISSED")
        print(f"  {bench:<10} {figure:<44} {value:>12,.1f} {unit:<8} {target}{mark}", flush=True)

    def table(self) -> None:
        print(f"\n{len(self.rows)} figures in {self.path.relative_to(ROOT)}")
        missed = [r for r in self.rows if r["met"] is False]
        for row in missed:
            print(
                f"  missed: {row['bench']} {row['figure']} = {row['value']} {row['unit']} ({row['target']})"
            )


SETTINGS = ("server_version", "shared_buffers", "work_mem", "effective_cache_size", "maintenance_work_mem")


def _settings() -> dict[str, str]:
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [list(SETTINGS)]
        )
        return dict(cursor.fetchall())


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    """Milliseconds and queries of one call (counted by a wrapper: no logging limit, no debug cursor)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, count, result


# --- data -------------------------------------------------------------------------------------------


def _ensure_database() -> None:
    """Create the bench database on first use (the server's user must be allowed to)."""
    from django.db import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        import psycopg

        name = settings.DATABASES["default"]["NAME"]
        params = connection.get_connection_params() | {"dbname": "postgres", "autocommit": True}
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')  # the name comes from DATABASE_URL, not a request
        print(f"Created the database {name}.")


def ensure_data(figures: Figures) -> None:
    if connection.vendor != "postgresql":
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL=postgres://…/slaportal_bench")
    _ensure_database()
    call_command("migrate", verbosity=0)
    present = generate.loaded()
    others = Lead.objects.exclude(external_id__startswith="bench-").exclude(external_id__startswith="load-")
    if others.exists():
        sys.exit(
            f"{settings.DATABASES['default']['NAME']} holds leads the bench did not load (such as "
            f"{others.first().external_id!r}); make bench needs a database of its own: set DATABASE_URL "
            "to one (by default it uses slaportal_bench)."
        )
    if present and present != LEADS and os.environ.get("BENCH_REGENERATE") != "1":
        # Figures of another size would be reported as this one's.
        sys.exit(
            f"{settings.DATABASES['default']['NAME']} holds {present:,} bench leads, not the {LEADS:,} "
            "asked for: set DATABASE_URL to another database, or drop this one and run again."
        )
    if present and os.environ.get("BENCH_REGENERATE") != "1":
        print(f"Using the {present:,} bench leads already loaded (BENCH_REGENERATE=1 loads them again).")
        generate.snapshot()
        return
    if present:
        sys.exit(
            "BENCH_REGENERATE=1: drop and create the bench database first; the generator fills an empty one."
        )
    print(f"Loading {LEADS:,} leads with their activities and events …")
    started = time.perf_counter()
    timings = generate.generate(leads=LEADS, now=timezone.now())
    generate.snapshot()
    total = time.perf_counter() - started
    rows = {
        "leads": Lead.objects.count(),
        "activities": Activity.objects.count(),
        "events": _count("leads_leadevent"),
    }
    figures.add(
        "generate",
        "load time (leads, activities, events)",
        total,
        "s",
        "minutes, not hours",
        total < 900,
        rows=rows,
        steps=timings,
    )


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # a fixed table name, not input
        return cursor.fetchone()[0]


# --- HTTP -------------------------------------------------------------------------------------------


def http(figures: Figures) -> None:
    since = generate.marks()
    marketer = get_user_model().objects.get(username="marketing")
    token, raw = token_create(user=marketer, name="bench")
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    if settings.CELERY_BROKER_URL.startswith("redis"):
        env.setdefault("CACHE_URL", settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/1")
    call_command("collectstatic", interactive=False, verbosity=0)  # as a deployment does, for WhiteNoise
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "slaportal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port)
        load = [sys.executable, "-m", "bench.load", "--token", raw, "--seconds", str(SECONDS)]
        ping = _load(*load, "--url", f"{base}/api/v1/ping", "--concurrency", "16")
        upsert = _load(*load, "--url", f"{base}/api/v1/leads", "--method", "POST", "--body", "upsert")
        ingest = _load(
            *load,
            *("--url", f"{base}/api/v1/activities", "--method", "POST", "--body", "activities"),
            *("--batch", "1000", "--leads", str(LEADS), "--concurrency", "2"),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        token.delete()
    extra = {"workers": WORKERS}
    figures.add("http", "no-op GET /api/v1/ping", ping["rps"], "req/s", **extra, **ping)
    ratio = upsert["rps"] / ping["rps"] if ping["rps"] else 0.0
    figures.add(
        "http",
        "upsert POST /api/v1/leads",
        upsert["rps"],
        "req/s",
        "≥ 400 req/s",
        upsert["rps"] >= 400,
        **extra,
        **upsert,
    )
    figures.add("http", "upsert p50", upsert["p50_ms"], "ms")
    figures.add("http", "upsert p95", upsert["p95_ms"], "ms", "≤ 50 ms", upsert["p95_ms"] <= 50)
    figures.add("http", "upsert p99", upsert["p99_ms"], "ms")
    figures.add("http", "upsert errors", upsert["errors"], "requests", "0", upsert["errors"] == 0)
    figures.add("http", "upsert / no-op", ratio, "ratio", "≥ 0.5", ratio >= 0.5)
    figures.add(
        "http",
        "bulk ingest, lists of 1,000",
        ingest["items_per_s"],
        "act/s",
        "≥ 10,000 act/s",
        ingest["items_per_s"] >= 10_000,
        **extra,
        **ingest,
    )
    figures.add("http", "bulk ingest errors", ingest["errors"], "requests", "0", ingest["errors"] == 0)
    _clean_up_load(since)


def _wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not start")


def _load(*command: str) -> dict[str, Any]:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    for line in lines:
        if "warning" in line:
            print(f"  load generator: {line['warning']}")
    return lines[-1]


def _clean_up_load(since: dict[str, int]) -> None:
    """Undo what the load wrote, so every run starts from the same data."""
    restored = generate.restore(since)
    print(f"  (put back {restored:,} leads the load changed)")
    if settings.CELERY_BROKER_URL.startswith("redis"):
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)


# --- the overdue sweep ------------------------------------------------------------------------------


class Rollback(Exception):
    pass


def sweep(figures: Figures) -> None:
    now = timezone.now()
    open_leads = Lead.objects.filter(status=Lead.Status.HANDED_OFF).count()
    figures.add("sweep", "leads in the table", Lead.objects.count(), "leads")
    figures.add("sweep", "leads waiting for pickup", open_leads, "leads")
    plan, db_ms = _selection_plan(now)
    figures.add(
        "sweep", "selection, nothing overdue: database time", db_ms, "ms", "≤ 5 ms", db_ms <= 5, plan=plan
    )
    print("    plan: " + "\n          ".join(plan))
    uses_partial_index = any("lead_pickup_due_idx" in line for line in plan)
    figures.add(
        "sweep",
        "selection uses the partial index",
        float(uses_partial_index),
        "bool",
        "yes",
        uses_partial_index,
    )
    for overdue in (0, 1_000, 10_000):
        elapsed, queries, result = _sweep_with(overdue, now)
        name = f"check_overdue_pickups, {overdue:,} overdue"
        if overdue == 1_000:
            # The first sweep of a process also pays its one-time costs (the holiday calendars, the
            # templates, the versions' clauses); the beat's worker sweeps every minute, warm.
            figures.add("sweep", f"{name}, the process's first", elapsed, "ms", queries=queries)
            runs = [elapsed] + [_sweep_with(overdue, now)[0] for _ in range(2)]
            elapsed = statistics.median(runs)
            name += " (median of 3)"
        target = {0: ("", None), 1_000: ("≤ 1 s", elapsed <= 1000), 10_000: ("", None)}[overdue]
        figures.add(
            "sweep", name, elapsed, "ms", target[0], target[1], queries=queries, breached=result.breached
        )


def _selection_plan(now) -> tuple[list[str], float]:
    with transaction.atomic():
        query = (
            escalation.overdue_leads(now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:200]
        )
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            for _ in range(3):  # warm
                cursor.execute(sql, params)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            data = cursor.fetchone()[0]
            report = data[0] if isinstance(data, list) else json.loads(data)[0]
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
    return plan, report["Planning Time"] + report["Execution Time"]


def _sweep_with(overdue: int, now) -> tuple[float, int, Any]:
    """Make `overdue` waiting leads overdue, sweep, then roll everything back for the next figure."""
    outcome: tuple[float, int, Any] = (0.0, 0, None)
    try:
        with transaction.atomic():
            if overdue:
                ids = (
                    Lead.objects.filter(status=Lead.Status.HANDED_OFF)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                Lead.objects.filter(pk__in=list(ids[:overdue])).update(
                    pickup_deadline=now - timedelta(hours=1)
                )
            outcome = _timed(lambda: escalation.check_overdue_pickups(now=now))
            raise Rollback
    except Rollback:
        pass
    return outcome


# --- dashboard and report ---------------------------------------------------------------------------


def reporting(figures: Figures) -> None:
    # The test client sends request signals; keep this process's one connection across requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="manager"))
    agreements = list(Agreement.objects.order_by("pk"))
    tz = agreement_timezone(agreements[0])

    def get(query: str = "") -> tuple[float, int]:
        elapsed, queries, response = _timed(lambda: client.get(f"/reporting/{query}"))
        assert response.status_code == 200, response.status_code
        return elapsed, queries

    cache.clear()
    cold_ms, cold_queries = get()  # nothing cached: a restart
    figures.add("reporting", "dashboard, nothing cached (12 months)", cold_ms, "ms", queries=cold_queries)
    # After any change: the ended months are still cached, the current one is counted again.
    cache.clear()
    monthly_trends(agreements=agreements, now=timezone.now(), tz=tz)
    changed_ms, changed_queries = get()
    target = ("≤ 300 ms", changed_ms <= 300)
    figures.add("reporting", "dashboard after a change", changed_ms, "ms", *target, queries=changed_queries)
    figures.add("reporting", "dashboard queries after a change", changed_queries, "queries")
    warm = [get() for _ in range(5)]  # nothing changed since: the figures come from the cache
    median = statistics.median(r[0] for r in warm)
    runs = [round(r[0], 1) for r in warm]
    target = ("≤ 300 ms", median <= 300)
    figures.add("reporting", "dashboard, unchanged data (median of 5)", median, "ms", *target, runs_ms=runs)

    # The current month may have begun minutes ago: last month's dashboard counted again is the same
    # work for a whole month, whatever the day the bench runs on.
    last_month = period_containing(timezone.now(), "month", tz).previous()
    cache.clear()
    monthly_trends(agreements=agreements, now=timezone.now(), tz=tz)
    whole_ms, whole_queries = get(f"?period={last_month.label}")
    target = ("≤ 300 ms", whole_ms <= 300)
    figures.add(
        "reporting",
        f"dashboard of a whole month counted ({last_month.label})",
        whole_ms,
        "ms",
        *target,
        queries=whole_queries,
    )
    try:
        with transaction.atomic():
            MonthlyReport.objects.filter(agreement=agreements[0], period=last_month.label).delete()
            elapsed, queries, _ = _timed(lambda: report_build(agreement=agreements[0], period=last_month))
            raise Rollback
    except Rollback:
        pass
    target = ("≤ 1 s", elapsed <= 1000)
    figures.add(
        "reporting", f"monthly report build ({last_month.label})", elapsed, "ms", *target, queries=queries
    )
    figures.add("reporting", "report build queries", queries, "queries")


# --- what-if -------------------------------------------------------------------------------------------


def simulation(figures: Figures) -> None:
    """A year's simulation (bench.simulate), in a process of its own: its time and its own peak memory."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.simulate"], capture_output=True, text=True, check=True, env=os.environ
    )
    run = json.loads(out.stdout.strip().splitlines()[-1])
    seconds = run["seconds"]
    limit = 60 * LEADS / 1_000_000  # 60 s at a million leads, 6 s at a hundred thousand
    figures.add(
        "simulation",
        "12 months replayed (only hot leads handed off)",
        seconds * 1000,
        "ms",
        f"≤ {limit:g} s",
        seconds <= limit,
        replayed=run["replayed"],
        changed=run["changed"],
    )
    figures.add(
        "simulation", "peak memory of the replay", run["peak_mb"], "MB", "≤ 500 MB", run["peak_mb"] <= 500
    )
    share = run["fidelity"]
    figures.add(
        "simulation",
        "fidelity of the versions in force",
        (share or 0) * 100,
        "%",
        "≥ 99.5 %",
        share is not None and share >= 0.995,
        mismatches=run["mismatches"],
    )


def main() -> None:
    _ensure_database()  # before anything reads from it (the figures note the server's settings)
    figures = Figures()
    print(
        f"SLA Portal benchmarks: {LEADS:,} leads, {os.cpu_count()} CPUs, "
        f"database {settings.DATABASES['default']['NAME']}"
    )
    if figures.context["postgres"]:
        print("PostgreSQL " + ", ".join(f"{k} {v}" for k, v in figures.context["postgres"].items()))
    ensure_data(figures)
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    for name, step in (
        ("http", http),
        ("sweep", sweep),
        ("reporting", reporting),
        ("simulation", simulation),
    ):
        if not only or name in only:
            print(f"\n{name}")
            step(figures)
    figures.table()


if __name__ == "__main__":
    main()
