"""A replica's output into its log file as of-watchdog writes a function's output.

of-watchdog (prefix_logs=true, its default) reads the function's stdout and stderr line by line
and writes each with Go's standard log prefix and the stream's name:
``2026/01/02 03:04:05 stderr: POST / - 400 Bad Request - ...`` (of-watchdog 0.10.7
executor/logging.go bindLoggingPipe/pipeBuffered, config/config.go prefix_logs). The local
gateway plays the watchdog's part, so `faas-etl logs <fn>` reads what `faas-cli logs` would.
"""
from __future__ import annotations

import pathlib
import subprocess
import threading
import time
from typing import IO, Callable

Clock = Callable[[], float]


def prefixed(name: str, line: str, now: float) -> str:
    """``line`` of stream ``name`` as of-watchdog logs it (Go's ``log.LstdFlags``: local date
    and time to the second)."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now))
    return f"{stamp} {name}: {line}\n"


class _Log:
    """The log file, written a whole line at a time from both streams' threads."""

    def __init__(self, path: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8", errors="replace")
        self._lock = threading.Lock()
        self._open = 2  # streams still being read

    def write(self, text: str) -> None:
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def stream_ended(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0:
                self._file.close()


def _pump(name: str, pipe: IO[bytes], log: _Log, clock: Clock) -> None:
    try:
        for raw in pipe:
            log.write(prefixed(name, raw.decode("utf-8", "replace").rstrip("\r\n"), clock()))
    finally:
        pipe.close()
        log.stream_ended()


def start_prefixed(argv: list[str], log_path: pathlib.Path, *, clock: Clock = time.time,
                   **popen) -> subprocess.Popen:
    """Start ``argv`` with no stdin, its stdout and stderr appended to ``log_path`` line by line
    with of-watchdog's prefix; ``popen``: more :class:`subprocess.Popen` arguments."""
    log = _Log(log_path)
    now = clock()
    for name in ("stderr", "stdout"):  # the watchdog's own lines, in its order
        log.write(prefixed("Started logging", f"{name} from function.", now))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, **popen)
    for name, pipe in (("stderr", proc.stderr), ("stdout", proc.stdout)):
        threading.Thread(target=_pump, args=(name, pipe, log, clock), daemon=True,
                         name=f"log-{name}-{proc.pid}").start()
    return proc
