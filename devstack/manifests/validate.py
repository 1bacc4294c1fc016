"""Validate files of the repository: each document by its family's rules, then its references."""
from __future__ import annotations

import functools
import pathlib
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from . import argo_schema, kubernetes_kinds
from .argo_rules import argo_rule_findings
from .cross_refs import Catalog, build_catalog, reference_findings
from .documents import Document, Family, discover, display_name, expand, load_all
from .findings import Finding, at, merged
from .openfaas_stack import stack_findings
from .strimzi import strimzi_findings


@dataclass(frozen=True)
class Report:
    """One run's outcome: findings (sorted), the files examined, checks that could not run."""

    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def for_file(self, file: str) -> tuple[Finding, ...]:
        """The findings of one file (repo-relative name)."""
        return tuple(f for f in self.findings if f.file == file)


@dataclass(frozen=True)
class Checkers:
    """What the per-document checks need besides the document: loaded once per run."""

    argo: argo_schema.ArgoSchema | None
    catalog: Catalog
    repo_root: pathlib.Path
    kubernetes_version: str = kubernetes_kinds.KUBERNETES_VERSION


def document_findings(doc: Document, checkers: Checkers) -> Iterator[Finding]:
    """Every finding about one document, references included."""
    family = doc.family
    if family is Family.ARGO:
        if checkers.argo is not None and doc.kind in argo_schema.ARGO_KINDS:
            yield from argo_schema.schema_findings(checkers.argo, doc)
            yield from argo_schema.unknown_fields(checkers.argo, doc)
        yield from argo_rule_findings(doc)
    elif family is Family.STRIMZI:
        yield from strimzi_findings(doc)
    elif family is Family.KUBERNETES:
        yield from kubernetes_kinds.schema_findings(doc, checkers.kubernetes_version)
        yield from kubernetes_kinds.hygiene_findings(doc)
    elif family is Family.UNKNOWN_KIND:
        yield at(doc.file, doc.index, ["apiVersion"],
                 f"no validator knows {doc.api_version} {doc.kind}: add one or remove the file")
    elif family is Family.STACK:
        stack_folder = (checkers.repo_root / doc.file).parent
        yield from stack_findings(doc, lambda relative: (stack_folder / relative).exists())
    yield from reference_findings(doc, checkers.catalog)


@functools.lru_cache(maxsize=4)
def _read_schema(path: pathlib.Path, modified: float) -> argo_schema.ArgoSchema:
    # Parsing the 1.4 MB schema costs ~90 ms: once per file version, not once per run.
    return argo_schema.ArgoSchema.load(path)


def load_argo_schema(path: pathlib.Path) -> tuple[argo_schema.ArgoSchema | None, tuple[str, ...]]:
    """The schema, or None with the reason its checks are skipped."""
    try:
        path = path.resolve()
        return _read_schema(path, path.stat().st_mtime), ()
    except OSError:
        return None, (f"Argo Events JSON schema not found at {path}: schema and unknown-field "
                      "checks of Argo documents skipped (controller rules still ran)",)


def validate_paths(paths: Sequence[pathlib.Path] | None = None, *,
                   repo_root: pathlib.Path,
                   argo_schema_path: pathlib.Path | None = None,
                   kubernetes_version: str = kubernetes_kinds.KUBERNETES_VERSION) -> Report:
    """Validate the given files and folders (default: every YAML file of the repository).

    References are resolved against the whole repository plus the given files, so one Sensor
    can be checked on its own and still find its EventSources, stack.yml and KafkaTopics.
    """
    kubernetes_kinds.schema_folder(kubernetes_version)  # an unsupported release fails first
    repo_root = repo_root.resolve()
    repo_files = discover(repo_root)
    targets = [p.resolve() for p in expand(paths)] if paths else repo_files
    documents, load_problems = load_all(sorted(set(repo_files) | set(targets)), repo_root)
    wanted = {str(display_name(p, repo_root)) for p in targets}
    schema, skipped = load_argo_schema(argo_schema_path
                                       or argo_schema.default_schema_path(repo_root))
    checkers = Checkers(schema, build_catalog(documents), repo_root, kubernetes_version)
    found: list[Finding] = [f for f in load_problems if f.file in wanted]
    for doc in documents:
        if doc.file in wanted:
            found.extend(document_findings(doc, checkers))
    return Report(merged(found), tuple(sorted(wanted)), skipped)


def validate_documents(documents: Iterable[Document], checkers: Checkers) -> tuple[Finding, ...]:
    """Validate already-loaded documents (tests, or a caller holding rendered manifests)."""
    return merged(f for doc in documents for f in document_findings(doc, checkers))
