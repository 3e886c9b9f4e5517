"""The journal: every change, on disk before the sandbox answers.

One JSON line per commit (a request that changed something), appended to
`journal-<generation>.jsonl` in the state directory and fsynced:

    {"reset": true?, "meta": {config, clock, id counters, per-bot flags}, "put": [[key, value], ...]}

A key names one thing of the world (["offer", bot, id], ["asset", owner, appid,
contextid, assetid], ...) and its value is what it is now (null: it is gone), so a
record can be applied twice without harm. The snapshot files name the generation
they were written for; loading replays every journal of that generation and later,
in order, over them. A line cut short by a crash was never answered, and is dropped.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_NAME = re.compile(r"^journal-(\d+)\.jsonl$")


class Journal:
    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.generation = 0
        self.size = 0  # bytes in the current file
        self.records = 0  # commits in the current file
        self.last_append = 0.0  # time.monotonic() of the last commit
        self._file = None

    def path(self, generation: int) -> Path:
        return self.state_dir / f"journal-{generation:06d}.jsonl"

    def generations(self) -> list[int]:
        found = []
        for path in self.state_dir.glob("journal-*.jsonl"):
            match = _NAME.match(path.name)
            if match:
                found.append(int(match[1]))
        return sorted(found)

    def open(self, generation: int) -> None:
        """Append to the journal of `generation` from now on (made empty if new)."""
        self.close()
        path = self.path(generation)
        existed = path.exists()
        self._file = open(path, "ab")  # noqa: SIM115 - kept open between commits
        self.generation = generation
        self.size = self._file.tell()
        self.records = 0
        if not existed:
            _sync_directory(self.state_dir)

    def append(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.size += len(line)
        self.records += 1
        self.last_append = time.monotonic()

    def replay(self, since: int) -> Iterator[tuple[int, dict]]:
        """(generation, record) of every journal from `since` on, oldest first."""
        for generation in self.generations():
            if generation < since:
                continue
            with open(self.path(generation), "rb") as fh:
                for number, line in enumerate(fh, 1):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        # Only the last line can be cut short (the answer never went out).
                        log.warning("sandbox journal %s: line %d is incomplete and was dropped", generation, number)
                        break
                    yield generation, record

    def remove_before(self, generation: int) -> None:
        for old in self.generations():
            if old < generation:
                self.path(old).unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _sync_directory(path: Path) -> None:
    """A new file's name is durable only once its directory is synced."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
