"""Run one inventory sync in the foreground, with progress, and print its counters."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sync.models import SyncStatus
from sync.services import sync_run

# Exit codes a script can branch on.
EXIT_CODES = {SyncStatus.FAILED: 1, SyncStatus.HELD: 2, SyncStatus.SKIPPED: 3}


class Command(BaseCommand):
    help = "Reconcile the database with the bot's Steam inventory now (one sync, in this process)."

    def add_arguments(self, parser):
        parser.add_argument("--actor", default=None, help="Who ran it, for the audit trail (default: OS user).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars (for logs).")

    def handle(self, *args, actor=None, no_progress=False, **options):
        actor = actor or f"command:{getpass.getuser()}"
        bars: dict[tuple[int, int], tqdm] = {}

        def on_progress(app_id, context_id, pages, items, total):
            bar = bars.get((app_id, context_id))
            if bar is None:
                bar = bars[(app_id, context_id)] = tqdm(
                    total=total or None, desc=f"inventory {app_id}/{context_id}", unit="item", file=self.stderr,
                    leave=True,
                )
            if total and bar.total != total:
                bar.total = total
            bar.update(items - bar.n)
            bar.set_postfix(pages=pages)

        try:
            log = sync_run(trigger="command", actor=actor, on_progress=None if no_progress else on_progress)
        finally:
            for bar in bars.values():
                bar.close()
        rows = [
            ("run", str(log.id)),
            ("status", log.sync_status),
            ("steam inventory", log.steam_inventory_count),
            ("added", log.items_added_count),
            ("removed", log.items_removed_count),
            ("updated", log.items_updated_count),
            ("discrepancies", log.discrepancies_found),
            ("db available", log.database_available_count),
            ("db assigned", log.database_assigned_count),
            ("db delivered", log.database_delivered_count),
            ("db total", log.database_total_count),
            ("duration ms", log.sync_duration_ms),
        ]
        breakdown = (log.error_details or {}).get("breakdown")
        if breakdown:
            rows.append(("breakdown", ", ".join(f"{k}={v}" for k, v in breakdown.items())))
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label.ljust(width)}  {'-' if value is None else value}")
        if log.error_message:
            self.stdout.write(f"{'message'.ljust(width)}  {log.error_message}")
        code = EXIT_CODES.get(log.sync_status)
        if code:
            raise CommandError(f"sync {log.sync_status}", returncode=code)
