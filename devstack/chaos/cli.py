"""``faas-etl chaos`` (``make chaos``): the availability harness, with its report.

Starts its own stack in a fresh run folder (PostgreSQL, Tansu behind a pausable proxy, gateway,
the data path's functions, the runner), writes and reads continuously while faults strike, and
prints availability per component and overall, recovery per fault and the data check. Writes
the report as JSON too (``--out``). Exit codes: 0 the data check passed, 1 it failed (a record
acknowledged and lost, a duplicate, a changed record) or the run could not be carried out,
2 usage.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time
from collections.abc import Sequence

from .config import FAULTS, REAL_FAULTS, ChaosConfig, ChaosConfigError

REPO = pathlib.Path(__file__).resolve().parents[2]
# A real run carries bad records by default: the dead-letter faults need letters to check.
REAL_BAD_EVERY = 50


def build_parser() -> argparse.ArgumentParser:
    d = ChaosConfig()
    parser = argparse.ArgumentParser(
        prog="faas-etl chaos", description=__doc__.splitlines()[0],
        epilog="faults: " + "; ".join(f"{name} ({component})" for name, component in FAULTS.items()))
    parser.add_argument("--duration", type=float, default=d.duration_s, metavar="SECONDS",
                        help="measured seconds (default %(default)s)")
    parser.add_argument("--real", action="store_true",
                        help="on the real binaries: Argo Events v1.9.11 processes, nats-server "
                             "JetStream, a three-node Apache Kafka (their faults: "
                             + ", ".join(REAL_FAULTS) + ")")
    parser.add_argument("--faults", default=None,
                        help="comma-separated faults to inject in turn (default: all of the "
                             "stack's); 'none' for a baseline run")
    parser.add_argument("--quiet-s", type=float, default=d.quiet_s,
                        help="seconds without fault at the start (default %(default)s)")
    parser.add_argument("--tail-s", type=float, default=d.tail_s,
                        help="seconds without fault at the end (default %(default)s)")
    parser.add_argument("--fault-gap-s", type=float, default=d.fault_gap_s,
                        help="at least this many seconds between faults (default %(default)s)")
    parser.add_argument("--writers", type=int, default=d.writers,
                        help="concurrent writers (default %(default)s)")
    parser.add_argument("--write-rate", type=float, default=d.write_rate,
                        help="ingest requests per second, all writers (default %(default)s)")
    parser.add_argument("--batch", type=int, default=d.batch_records,
                        help="records per request (default %(default)s)")
    parser.add_argument("--readers", type=int, default=d.readers,
                        help="concurrent warehouse readers (default %(default)s)")
    parser.add_argument("--read-rate", type=float, default=d.read_rate,
                        help="queries per second, all readers (default %(default)s)")
    parser.add_argument("--slow-s", type=float, default=d.slow_s,
                        help="an answer slower than this counts as unavailable (default %(default)s)")
    parser.add_argument("--pause-s", type=float, default=d.pause_s,
                        help="seconds the broker connection stays paused (default %(default)s)")
    parser.add_argument("--bad-every", type=int, default=None, metavar="N",
                        help="every N-th record one the map step dead-letters, 0 for none "
                             "(default: 50 with --real, else 0)")
    parser.add_argument("--replicas", type=int, default=d.replicas,
                        help="replicas of each data-path function (default %(default)s)")
    parser.add_argument("--run-dir", type=pathlib.Path, default=None,
                        help="where the stack keeps builds, logs, secrets (default: a new temp folder)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "reports" / "chaos" / "last-run.json",
                        help="the report as JSON (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the JSON report, not the text")
    return parser


def config_of(args: argparse.Namespace) -> ChaosConfig:
    if args.faults is None:
        faults = tuple(REAL_FAULTS if args.real else FAULTS)
    elif args.faults.strip() == "none":
        faults = ()
    else:
        faults = tuple(f.strip() for f in args.faults.split(",") if f.strip())
    return ChaosConfig(duration_s=args.duration, faults=faults, quiet_s=args.quiet_s,
                       tail_s=args.tail_s, fault_gap_s=args.fault_gap_s, writers=args.writers,
                       write_rate=args.write_rate, batch_records=args.batch, readers=args.readers,
                       read_rate=args.read_rate, slow_s=args.slow_s, pause_s=args.pause_s,
                       replicas=args.replicas, real=args.real,
                       bad_every=(REAL_BAD_EVERY if args.real else 0) if args.bad_every is None
                       else args.bad_every)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_of(args)
    except ChaosConfigError as exc:
        parser.error(str(exc))
    from .harness import ChaosError, run  # the stack's imports only when running

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    run_dir = args.run_dir or pathlib.Path(tempfile.mkdtemp(prefix="faas-etl-chaos-"))
    say(f"chaos: run folder {run_dir}")
    started = time.monotonic()
    try:
        report = run(config, run_dir, say)
    except ChaosError as exc:
        say(f"chaos: {exc}")
        return 1
    except KeyboardInterrupt:
        say("chaos: interrupted")
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report.doc, indent=2, sort_keys=True))
    print(json.dumps(report.doc, indent=2, sort_keys=True) if args.json else report.text())
    say(f"chaos: {time.monotonic() - started:.0f}s in all; report in {args.out}")
    return 0 if report.data_ok else 1


if __name__ == "__main__":
    sys.exit(main())
