"""`make bench`: run every bench/bench_*.py module's main() in turn; exit 1 if any goal is missed.

Each benchmark measures its baseline in the same run and prints ratios, because absolute times on
a shared 2-core machine say little.
"""
from __future__ import annotations

import importlib
import pathlib
import sys
import time


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = sorted(p.stem for p in pathlib.Path(__file__).parent.glob("bench_*.py"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    failed = []
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        code = int(importlib.import_module(f"bench.{name}").main() or 0)
        print(f"--- {name}: {'goals met' if code == 0 else 'GOAL MISSED'} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        if code:
            failed.append(name)
    print(f"\n{len(wanted) - len(failed)} of {len(wanted)} benchmarks met their goals"
          + (f"; missed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
