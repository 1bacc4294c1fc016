"""``faas-etl validate [paths]``: the manifests (:mod:`devstack.manifests`) and the workflow
files, one finding per line in one format, ``<file>[<document>] <path>: <rule>``.

A workflow file (a YAML file under workflows/, or any mapping with ``sources`` and ``sink`` and
no ``apiVersion``) is validated by the workflow loader (:func:`etlkit.workflow.parse_workflow`,
every error), then its step parameters' field names against the topics' schemas
(:mod:`devstack.field_check`), as ``faas-etl try`` checks them before it runs.
Exit codes: 0 no finding, 1 findings, 2 misuse.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Sequence

from etlkit.workflow import WorkflowInvalid, parse_workflow

from .field_check import field_errors
from .manifests.documents import Document, Family, load_file
from .manifests.findings import Finding, merged
from .manifests.kubernetes_kinds import KUBERNETES_VERSION, UnsupportedVersion
from .manifests.validate import validate_paths
from .schema_source import SchemaOptionError, add_options, schemas_of

REPO = pathlib.Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faas-etl validate", description=(
        "Strict validation of the repository's manifests (Argo Events, Kubernetes, Strimzi, "
        "stack.yml), the references between them, and the workflow files: every field and rule "
        "of the workflow format, and step parameters' field names against the topics' schemas."))
    p.add_argument("paths", nargs="*", type=pathlib.Path,
                   help="YAML files or folders; default every YAML file of the repository")
    p.add_argument("--repo-root", type=pathlib.Path, default=REPO,
                   help="where references (stack.yml, EventSources, KafkaTopics) are looked up (the checkout)")
    p.add_argument("--argo-schema", type=pathlib.Path, default=None,
                   help="Argo Events JSON schema (default: ../shared/schemas/ beside the repository)")
    p.add_argument("--kubernetes-version", default=KUBERNETES_VERSION,
                   help="Kubernetes release the built-in kinds must validate against (%(default)s)")
    add_options(p)
    p.add_argument("--run-dir", help="the stack's run folder, for its schema store (FAAS_ETL_RUN_DIR; .run/)")
    p.add_argument("--json", action="store_true", help="print {findings: [{file, index, path, rule}], files, skipped}")
    return p


def is_workflow(doc: Document) -> bool:
    body = doc.body
    return doc.family is Family.WORKFLOW or (
        doc.family is Family.PLAIN and isinstance(body, dict) and {"sources", "sink"} <= set(body))


def workflow_findings(path: pathlib.Path, args: argparse.Namespace) -> list[Finding]:
    """The findings of one workflow file: the loader's errors, else its field names'."""
    repo_root = args.repo_root.resolve()
    docs, problems = load_file(path, repo_root)
    if problems or not docs or not all(is_workflow(d) for d in docs):
        return []  # not a workflow (a manifest, or YAML that does not load: reported already)
    name = docs[0].file
    try:
        workflow = parse_workflow(path.read_text(encoding="utf-8"))
    except WorkflowInvalid as exc:
        return [Finding(name, 0, e.path, e.rule) for e in exc.errors]
    schemas = schemas_of(args, [t.name for t in workflow.topics])
    return [Finding(name, 0, e.path, e.rule) for e in field_errors(workflow, schemas)]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"faas-etl validate: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    repo_root = args.repo_root.resolve()
    try:
        report = validate_paths(args.paths or None, repo_root=repo_root, argo_schema_path=args.argo_schema,
                                kubernetes_version=args.kubernetes_version)
        found = list(report.findings)
        for file in report.files:
            path = pathlib.Path(file) if pathlib.Path(file).is_absolute() else repo_root / file
            found += workflow_findings(path, args)
    except (UnsupportedVersion, SchemaOptionError) as error:
        print(f"faas-etl validate: {error}", file=sys.stderr)
        return 2
    findings = merged(found)
    if args.json:
        print(json.dumps({"findings": [{"file": f.file, "index": f.index, "path": f.path, "rule": f.rule}
                                       for f in findings], "files": len(report.files),
                          "skipped": list(report.skipped)}))
    else:
        for reason in report.skipped:
            print(f"note: {reason}", file=sys.stderr)
        for finding in findings:
            print(finding)
    print(f"{len(findings)} finding(s) in {len(report.files)} file(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
