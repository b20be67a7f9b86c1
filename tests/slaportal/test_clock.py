"""The test session's clock can be moved ahead (SLAPORTAL_CLOCK_AHEAD_DAYS), in every process alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clock import VARIABLE, days_ahead

ROOT = Path(__file__).resolve().parents[2]
# A slow start-up (imports, Django) before the first reading of the clock must not make a process lag.
CHILD = """
from tests.clock import move_clock_from_environment
move_clock_from_environment()
import time, time_machine
time.sleep(0.5)
print(time.time() - time_machine.escape_hatch.time.time())
"""


@pytest.mark.parametrize("days", ["400", "1000.25"])
def test_a_process_on_the_moved_clock_is_exactly_that_far_ahead(days):
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env={**os.environ, VARIABLE: days},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert float(result.stdout) == pytest.approx(float(days) * 86400, abs=0.05)


@pytest.mark.parametrize("raw", ["soon", "-3", "nan", "1e9"])
def test_a_clock_offset_that_is_not_a_number_of_days_is_refused(monkeypatch, raw):
    monkeypatch.setenv(VARIABLE, raw)
    with pytest.raises(SystemExit, match=VARIABLE):
        days_ahead()


def test_no_offset_keeps_todays_clock(monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    assert days_ahead() == 0
