"""Child processes: started with their output in a log file; stopped with a signal, a grace
period, then SIGKILL."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess


def start_logged(argv: list[str], log_path: pathlib.Path | None, *, banner: str = "",
                 **popen) -> subprocess.Popen:
    """Start ``argv`` with stdout and stderr appended to ``log_path`` (None: discarded) and no
    stdin; ``banner``: a line written to the log first. The child holds the log file open, the
    caller need not; ``popen``: more :class:`subprocess.Popen` arguments (env, cwd, ...)."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path if log_path is not None else os.devnull, "ab") as log:
        if banner:
            log.write(f"{banner}\n".encode())
            log.flush()
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)


def stop_process(proc: subprocess.Popen | None, timeout: float, sig: int = signal.SIGTERM) -> int | None:
    """Send ``sig`` to ``proc`` if it still runs, wait up to ``timeout`` s, then SIGKILL and wait.

    Returns its exit code (None without a process).
    """
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
