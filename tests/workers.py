"""Real Celery worker processes (and a private Redis server) for the tests that need the real thing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tests.clock import days_ahead

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database, for processes started by a test (they must see its committed rows)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(check: Callable[[], bool], seconds: float = 60, every: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def celery_command() -> list[str]:
    """`python -m celery`, on the test session's clock when SLAPORTAL_CLOCK_AHEAD_DAYS moves it."""
    if not days_ahead():
        return [sys.executable, "-m", "celery"]
    start = "from tests.clock import move_clock_from_environment; move_clock_from_environment()"
    return [sys.executable, "-c", f"{start}; from celery.__main__ import main; main()"]


class Worker:
    """`celery worker` in its own process, on one queue, with the test's database."""

    def __init__(self, *, broker_url: str, queue: str, env: dict[str, str] | None = None, pool: str = "solo"):
        self.output_path = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
        self._log = self.output_path.open("w")
        self.process = subprocess.Popen(
            [
                *celery_command(),
                "-A",
                "slaportal",
                "worker",
                # solo: one process, so SIGKILL ends the whole worker, as a lost machine would; threads:
                # tasks side by side, as a production worker runs them.
                f"--pool={pool}",
                *(["--concurrency=4"] if pool == "threads" else []),
                "-Q",
                queue,
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": broker_url,
                "CELERY_QUEUE": queue,
                **(env or {}),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        self._log.flush()
        return self.output_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement, as when the machine's OOM killer or power ends it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        output = self.output
        self._log.close()
        self.output_path.unlink(missing_ok=True)
        return output


class RedisServer:
    """A private redis-server on a free port, which a test may stop and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert self.binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        assert wait_for(lambda: _answers(client), seconds=10), "redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _answers(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This process's Celery app publishes to `broker_url` (and not eagerly) until the block ends."""
    from slaportal.celery import app

    def reconnect() -> None:
        # What Celery itself does after a fork: the pools are made again from the configuration. (Kombu
        # keeps the old ones, keyed by broker, for when this block ends.)
        app._pool = None
        app.amqp._producer_pool = None

    # Publishing uses broker_write_url; unlike broker_url, an environment variable does not override it.
    saved = app.conf.broker_write_url, app.conf.task_always_eager
    app.conf.broker_write_url, app.conf.task_always_eager = broker_url, False
    reconnect()
    try:
        yield
    finally:
        app.conf.broker_write_url, app.conf.task_always_eager = saved
        reconnect()
