"""Gateway metrics with OpenFaaS's names, in Prometheus text exposition format."""
from __future__ import annotations

import threading
from collections import defaultdict

# gateway_functions_seconds buckets, as the OpenFaaS gateway declares them.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class GatewayMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._invocations: dict[tuple[str, str], int] = defaultdict(int)
        self._hist: dict[tuple[str, str], list[float]] = {}

    def observe(self, function: str, code: int, seconds: float) -> None:
        key = (function, str(code))
        with self._lock:
            self._invocations[key] += 1
            hist = self._hist.setdefault(key, [0.0] * (len(BUCKETS) + 2))  # buckets, sum, count
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def invocations(self, function: str) -> int:
        with self._lock:
            return sum(n for (fn, _), n in self._invocations.items() if fn == function)

    def render(self, replicas: dict[str, int], per_node: dict[tuple[str, str], int]) -> str:
        lines = ["# HELP gateway_function_invocation_total Function metrics",
                 "# TYPE gateway_function_invocation_total counter"]
        with self._lock:
            for (fn, code), n in sorted(self._invocations.items()):
                lines.append(f'gateway_function_invocation_total{{code="{code}",'
                             f'function_name="{_esc(fn)}"}} {n}')
            lines += ["# HELP gateway_functions_seconds Function time taken",
                      "# TYPE gateway_functions_seconds histogram"]
            for (fn, code), hist in sorted(self._hist.items()):
                labels = f'code="{code}",function_name="{_esc(fn)}"'
                for bound, count in zip(BUCKETS, hist):
                    lines.append(f'gateway_functions_seconds_bucket{{{labels},le="{bound}"}} {int(count)}')
                lines.append(f'gateway_functions_seconds_bucket{{{labels},le="+Inf"}} {int(hist[-1])}')
                lines.append(f"gateway_functions_seconds_sum{{{labels}}} {hist[-2]:.6f}")
                lines.append(f"gateway_functions_seconds_count{{{labels}}} {int(hist[-1])}")
        lines += ["# HELP gateway_service_count Current count of replicas for function",
                  "# TYPE gateway_service_count gauge"]
        for fn, n in sorted(replicas.items()):
            lines.append(f'gateway_service_count{{function_name="{_esc(fn)}"}} {n}')
        lines += ["# HELP faas_etl_replicas_per_node Ready replicas of a function on a node",
                  "# TYPE faas_etl_replicas_per_node gauge"]
        for (fn, node), n in sorted(per_node.items()):
            lines.append(f'faas_etl_replicas_per_node{{function_name="{_esc(fn)}",node="{_esc(node)}"}} {n}')
        return "\n".join(lines) + "\n"
