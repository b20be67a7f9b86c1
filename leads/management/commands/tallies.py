"""`manage.py tallies`: check the report tallies of this database against its events, or count them again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from leads.services import recount, tallies, touches


class Command(BaseCommand):
    help = (
        "Check the tallies the reports read against the events they count (--verify, the default), "
        "count them again from the events (--rebuild), or fold the ended hours' deltas (--compact)."
    )

    def add_arguments(self, parser: Any) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--verify", action="store_true", help="Report every difference (the default).")
        action.add_argument("--rebuild", action="store_true", help="Replace every tally by a fresh count.")
        action.add_argument("--compact", action="store_true", help="Fold the deltas of the ended hours.")

    def handle(self, *args: Any, rebuild: bool, compact: bool, **options: Any) -> None:
        if rebuild:
            written = recount.tallies_rebuild()
            months = touches.touches_rebuild()
            self.stdout.write(f"Counted the history again: {written} tally rows, {months} account months.")
            return
        if compact:
            removed = tallies.tallies_compact(before=tallies.hour_of(timezone.now()))
            self.stdout.write(f"Folded the ended hours: {removed} rows fewer.")
            return
        problems = recount.tallies_verify() + touches.touches_verify()
        for problem in problems[:50]:
            self.stderr.write(problem)
        if problems:
            more = " (the first 50 shown)" if len(problems) > 50 else ""
            raise CommandError(
                f"{len(problems)} tallies differ from the events{more}; "
                "`manage.py tallies --rebuild` counts them again."
            )
        self.stdout.write("The tallies agree with the events.")
