"""An HTTP load generator, run as its own process so it does not share an interpreter with the server.

    python -m bench.load --url http://127.0.0.1:8001/api/v1/ping --token T --concurrency 16 --seconds 10

`--body upsert` sends a new lead per request; `--body activities` sends lists of `--batch` activities for
the bench's nurtured leads. Prints one JSON object: requests, errors (non-2xx or failed), requests per
second, latency percentiles in milliseconds, and items per second for batches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

TYPES = ["webinar_registration", "webinar_attendance", "ebook_download", "form_submission", "email_click"]


def upsert_body(n: int, run: str) -> bytes:
    return json.dumps(
        {
            "external_id": f"load-{run}-{n}",
            "email": f"load{n}@example.com",
            "first_name": "Lee",
            "last_name": "Load",
            "job_title": "CTO",
            "source": "webinar",
            "company": {"name": f"Load {n % 500}", "employees": 50 + n % 500, "industry": "software"},
        }
    ).encode()


def activities_body(n: int, run: str, batch: int, leads: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    rng = random.Random(n)
    return json.dumps(
        [
            {
                # The generator's leads are bench-1 .. bench-N; a batch brings 4 activities each to 250.
                "lead_external_id": f"bench-{1 + (n * 997 + i // 4) % leads}",
                "type": rng.choice(TYPES),
                "occurred_at": now,
                "external_id": f"load-{run}-{n}-{i}",
            }
            for i in range(batch)
        ]
    ).encode()


async def one_request(
    host: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # until the server closes
        return int(status_line.split()[1])
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, float]:
    url = urlsplit(args.url)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    run_id = f"{os.getpid()}-{int(time.time())}"
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + args.seconds

    def next_body() -> bytes:
        nonlocal counter
        counter += 1
        if args.body == "upsert":
            return upsert_body(counter, run_id)
        if args.body == "activities":
            return activities_body(counter, run_id, args.batch, args.leads)
        return b""

    async def user() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            body = next_body()
            started = time.perf_counter()
            try:
                status = await one_request(url.hostname, url.port, args.method, url.path, headers, body)
            except OSError:
                status = 0
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                errors += 1
                if errors <= 3:
                    print(json.dumps({"warning": f"HTTP {status}"}), flush=True)

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) if latencies else 0.0
        )

    result = {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }
    if args.body == "activities":
        result["items_per_s"] = round((len(latencies) - errors) * args.batch / elapsed, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--token", default="")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--body", choices=["none", "upsert", "activities"], default="none")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--leads", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
