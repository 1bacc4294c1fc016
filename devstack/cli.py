"""faas-etl: one command for the local stack and the project's tools.

Subcommands follow the ecosystem's habits (faas-cli, kubectl): `build`, `up`, `run`, `simulate`,
`validate`, `render`, `bench`. Every subcommand has --help; exit codes: 0 ok, 1 failure, 2 usage.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import signal
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def _say(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def cmd_build(args) -> int:
    from .shrinkwrap import build_all
    from .stackfile import load_stack

    stack = load_stack(args.file)
    out = build_all(stack, pathlib.Path(args.output), args.function or None)
    for name, path in out.items():
        print(f"{name} shrink-wrapped to {path}")
    return 0


def cmd_up(args) -> int:
    from .localstack import LocalStack

    stack = LocalStack(gateway_port=args.port).up(progress=_say)
    creds = stack.credentials
    print(json.dumps({"gateway": stack.url, "kafka": stack.bootstrap, "user": creds.user,
                      "password_file": str(stack.secrets_dir / "basic-auth-password")})
          if args.json else
          f"gateway {stack.url}  kafka {stack.bootstrap}  user {creds.user}  "
          f"password in {stack.secrets_dir / 'basic-auth-password'}\nCtrl-C to stop.", flush=True)
    try:
        signal.pause()  # until Ctrl-C or SIGTERM (see _interrupt_on)
    except KeyboardInterrupt:
        pass  # the way to stop `up`: a clean exit, not an error
    finally:
        _say("stopping")
        stack.down()
    return 0


def cmd_run(args) -> int:
    from .demo import run_demo

    return run_demo(records=args.records, legacy=args.legacy_rows, batch=args.batch, as_json=args.json)


# Subcommands owned by other packages: module with main(argv), arguments put before the user's.
DELEGATED = {
    "simulate": ("devstack.evaluation.cli", [], "evaluate the elastic scheduler on seeded curves"),
    "validate": ("devstack.manifests.cli", ["validate"], "validate manifests and stack.yml strictly"),
    "render": ("etlkit.workflow.render", [], "render argo-events/ and k8s/topics/ from workflows/"),
}


def _delegate(module: str, argv: list[str]) -> int:
    """Subcommands owned by other packages keep their own argparse; pass the rest through."""
    return int(importlib.import_module(module).main(argv) or 0)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _interrupt_on(*signals: signal.Signals) -> None:
    """Ctrl-C and `kill` both unwind through the `finally` blocks that stop the stack. Set
    explicitly: a process started in the background inherits SIGINT ignored."""
    for sig in signals:
        signal.signal(sig, _interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faas-etl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="write build/<fn>/ as `faas-cli build --shrinkwrap` would")
    p.add_argument("-f", "--file", default=str(REPO / "stack.yml"), help="stack file (stack.yml)")
    p.add_argument("-o", "--output", default=str(REPO / "build"), help="build root (build/)")
    p.add_argument("function", nargs="*", help="functions to build (default: all)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("up", help="start broker, gateway and every function; Ctrl-C stops them")
    p.add_argument("--port", type=int, default=8080, help="gateway port on 127.0.0.1 (8080; 0 picks a free one)")
    p.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("run", help="run the sample orders workflow end to end and print its books")
    p.add_argument("--records", type=int, default=2000, help="orders to POST to the ingest function (2000)")
    p.add_argument("--legacy-rows", type=int, default=300, help="rows seeded in the legacy_orders table (300)")
    p.add_argument("--batch", type=int, default=500, help="orders per ingest call (500)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_run)

    for name, (_module, _prefix, text) in DELEGATED.items():
        # Listed for --help; the arguments go to the owning module's own parser (see below).
        sub.add_parser(name, help=text, add_help=False)

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        module, prefix, _text = DELEGATED[argv[0]]
        return _delegate(module, prefix + argv[1:])
    args = parser.parse_args(argv)
    _interrupt_on(signal.SIGINT, signal.SIGTERM)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
