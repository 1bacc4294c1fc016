"""``python -m devstack.manifests validate [paths]`` (wired as ``faas-etl validate``)."""
from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Sequence

from .kubernetes_kinds import KUBERNETES_VERSION, UnsupportedVersion
from .validate import validate_paths

# devstack/manifests/cli.py -> the checkout this package belongs to.
PACKAGE_REPO = pathlib.Path(__file__).resolve().parents[2]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.manifests",
        description="Strict validation of the repository's manifests (Argo Events, Kubernetes, "
                    "Strimzi, stack.yml) and of the references between them.")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="validate files or folders (default: all)")
    validate.add_argument("paths", nargs="*", type=pathlib.Path,
                          help="YAML files or folders; default every YAML file of the repository")
    validate.add_argument("--repo-root", type=pathlib.Path, default=PACKAGE_REPO,
                          help="where references (stack.yml, EventSources, KafkaTopics) are "
                               "looked up (default: %(default)s)")
    validate.add_argument("--argo-schema", type=pathlib.Path, default=None,
                          help="Argo Events JSON schema (default: ../shared/schemas/ beside the "
                               "repository)")
    validate.add_argument("--kubernetes-version", default=KUBERNETES_VERSION,
                          help="Kubernetes release the built-in kinds must validate against "
                               "(default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print one finding per line; exit 1 when there is any, 0 when all is well, 2 on misuse."""
    args = build_parser().parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        report = validate_paths(args.paths or None, repo_root=args.repo_root.resolve(),
                                argo_schema_path=args.argo_schema,
                                kubernetes_version=args.kubernetes_version)
    except UnsupportedVersion as error:
        print(error, file=sys.stderr)
        return 2
    for reason in report.skipped:
        print(f"note: {reason}", file=sys.stderr)
    for finding in report.findings:
        print(finding)
    print(f"{len(report.findings)} finding(s) in {len(report.files)} file(s)", file=sys.stderr)
    return 1 if report.findings else 0
