"""A dependency-free progress bar on stderr (the evaluation's only output there)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``[#####.....]  37/100 curves  12s`` rewritten in place; silent when disabled."""

    def __init__(self, total: int, label: str, *, enabled: bool = True,
                 stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.label, self.enabled, self.width = max(total, 1), label, enabled, width
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()  # display only: never feeds a result
        self._draw()

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{self.done:>4}/{self.total} {self.label}  {elapsed:4.0f}s")
        self.stream.flush()
