"""How the other commands find a running ``faas-etl up``: a state file in its run folder.

``up`` writes ``<run_dir>/up.json`` once everything answers and removes it when it stops;
``down``, ``status``, ``logs``, ``invoke`` and ``dashboard`` read it. A file whose process is
gone (``up`` was killed with -9) is stale: readers say so and ``down`` removes it.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import time
from dataclasses import asdict, dataclass, field

STATE_FILE = "up.json"


def default_run_dir(repo: pathlib.Path) -> pathlib.Path:
    """``FAAS_ETL_RUN_DIR`` or ``<repo>/.run``: where ``up`` keeps builds, logs, secrets."""
    return pathlib.Path(os.getenv("FAAS_ETL_RUN_DIR") or repo / ".run")


@dataclass(frozen=True)
class UpState:
    pid: int
    run_dir: str
    gateway: str
    kafka: str
    user: str
    password_file: str
    secrets_dir: str
    log_dir: str
    started_at: float
    dashboard: str = ""
    warehouse_url: str = ""
    workflows: tuple[str, ...] = field(default_factory=tuple)
    stack: str = ""  # which stack runs: real components (versions) or stand-ins

    def password(self) -> str:
        return pathlib.Path(self.password_file).read_text(encoding="utf-8").strip()

    def to_dict(self) -> dict:
        return {**asdict(self), "workflows": list(self.workflows)}


class NotRunning(RuntimeError):
    """No running ``up`` in that run folder (the message says what was found instead)."""


def write_state(state: UpState) -> pathlib.Path:
    path = pathlib.Path(state.run_dir) / STATE_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=2), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def remove_state(run_dir: pathlib.Path, pid: int) -> None:
    """Remove the state file if it is still ``pid``'s (a newer ``up`` may have replaced it)."""
    path = pathlib.Path(run_dir) / STATE_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped
    except (FileNotFoundError, IndexError):
        return False


def runs_up(pid: int) -> bool:
    """Whether ``pid`` is a live ``faas-etl up`` (by its command line): a stale state file's pid
    may belong to another process by now, which ``down`` must never signal."""
    if not process_alive(pid):
        return False
    try:
        args = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"up" in args and any(a.endswith((b"faas-etl", b"devstack.cli")) for a in args)


def read_state(run_dir: pathlib.Path) -> UpState:
    """The running ``up``'s state; :class:`NotRunning` when there is none or it is stale."""
    path = pathlib.Path(run_dir) / STATE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotRunning(f"no running `faas-etl up` in {run_dir} (no {STATE_FILE})") from None
    except ValueError as exc:
        raise NotRunning(f"{path}: unreadable ({exc})") from None
    state = UpState(**{**doc, "workflows": tuple(doc.get("workflows", ()))})
    if not runs_up(state.pid):
        raise NotRunning(f"`faas-etl up` (pid {state.pid}) is no longer running; {path} is stale")
    return state


def wait_stopped(pid: int, timeout_s: float, poll_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


# -- logs -----------------------------------------------------------------------------------------
def log_files(log_dir: pathlib.Path, function: str) -> list[pathlib.Path]:
    """The log file of every replica the function ever had (``<function>-<n>.log``), oldest first."""
    pattern = re.compile(rf"^{re.escape(function)}-(\d+)\.log$")
    found = [(int(m.group(1)), p) for p in pathlib.Path(log_dir).glob(f"{function}-*.log")
             if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


def tail_lines(path: pathlib.Path, count: int, chunk: int = 64 * 1024) -> list[str]:
    """The last ``count`` lines of a file, reading from its end (a log may be large)."""
    if count <= 0:
        return []
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = pos = f.tell()
        data = b""
        while pos > 0 and data.count(b"\n") <= count:
            pos = max(0, pos - chunk)
            f.seek(pos)
            data = f.read(end - pos)
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]
