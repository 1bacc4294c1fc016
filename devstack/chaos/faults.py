"""The faults a chaos run injects, each a function of the running :class:`ChaosStack`.

Each returns a one-line description of what it did (which worker, which kind of restart) and
returns only once its action is over (a restart returned, a pause ended): the harness times
both ends. Rounds vary the harshness where a component has two ways to go down (a database
crash vs a clean restart, a runner killed vs stopped), the first round being the harsher.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Callable

from .config import ChaosConfig, ScheduledFault
from .environment import ChaosStack
from .workflow import FUNCTIONS

BUSY_WAIT_S = 3.0  # how long to wait for a worker to be mid-request before killing an idle one


def kill_busy_workers(env: ChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """kill -9 one replica of each data-path function, preferably one with a request in flight
    (mid-batch); the gateway's reconcile loop starts a replacement."""
    replicas = env.stack.gateway.replicas
    killed = []
    for name in FUNCTIONS:
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            ready = replicas.ready_workers(name)
            busy = [w for w in ready if w.inflight > 0]
            if busy or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        victim = (busy or ready or [None])[0]
        if victim is None:
            killed.append(f"{name}: no ready replica")
            continue
        os.kill(victim.pid, signal.SIGKILL)
        killed.append(f"{victim.id} ({'mid-request' if busy else 'idle'})")
    return "kill -9 " + ", ".join(killed)


def restart_warehouse(env: ChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """Round 0: a crash (immediate shutdown, crash recovery at start); then a clean restart."""
    if fault.round % 2 == 0:
        env.postgres.crash()
        env.postgres.start()
        return "PostgreSQL crashed (immediate stop) and started"
    env.postgres.restart()
    return "PostgreSQL restarted (fast stop)"


def restart_gateway(env: ChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """Stop the gateway (workers keep running, as pods do) and start a new one on its port."""
    env.stack.restart_gateway(down_s=config.gateway_down_s)
    return f"gateway stopped, {config.gateway_down_s:g}s down, started on the same port"


def restart_runner(env: ChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """Round 0: kill -9 (offsets of what was in flight are not committed); then SIGTERM."""
    old = env.runner.pid
    if fault.round % 2 == 0:
        env.runner.kill()
        how = "killed -9"
    else:
        env.runner.stop()
        how = "stopped (SIGTERM)"
    env.runner.start()
    return f"runner pid {old} {how}, pid {env.runner.pid} subscribed"


def pause_broker(env: ChaosStack, config: ChaosConfig, fault: ScheduledFault) -> str:
    """No byte moves between any client and Kafka for ``pause_s`` (the broker keeps its data)."""
    env.proxy.pause()
    try:
        time.sleep(config.pause_s)
    finally:
        env.proxy.resume()
    return f"broker connection paused {config.pause_s:g}s"


INJECTORS: dict[str, Callable[[ChaosStack, ChaosConfig, ScheduledFault], str]] = {
    "kill-worker": kill_busy_workers,
    "restart-warehouse": restart_warehouse,
    "restart-gateway": restart_gateway,
    "restart-runner": restart_runner,
    "pause-broker": pause_broker,
}
