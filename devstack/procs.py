"""Stopping a child process: a signal, a grace period, then SIGKILL."""
from __future__ import annotations

import signal
import subprocess


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
