"""YAML files of the repository, read into documents that know which validator they belong to."""
from __future__ import annotations

import enum
import pathlib
import subprocess
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import yaml

from .findings import Finding

YAML_SUFFIXES = (".yaml", ".yml")
# Generated or private folders; the files in them are not the project's manifests.
SKIPPED_FOLDERS = frozenset({".venv", "build", ".run", ".git", "node_modules", "__pycache__"})
STACK_FILE_NAMES = frozenset({"stack.yml", "stack.yaml"})
# libyaml's safe loader when built in (about 10x faster), else the pure-Python one; both safe.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ARGO_GROUP = "argoproj.io"
STRIMZI_GROUP = "kafka.strimzi.io"


class Family(enum.Enum):
    """Which validator a document goes to."""

    ARGO = "argo-events"
    STRIMZI = "strimzi"
    KUBERNETES = "kubernetes"      # built-in kinds, checked by kubernetes-validate
    UNKNOWN_KIND = "unknown-kind"  # has apiVersion/kind that no validator here knows
    STACK = "stack"                # an OpenFaaS stack.yml
    WORKFLOW = "workflow"          # workflows/*.yaml: validated by the workflow loader's own tests
    PLAIN = "plain"                # any other YAML: it only has to load


def api_group(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    return api_version.rpartition("/")[0]


def is_builtin_group(group: str) -> bool:
    """Kubernetes' own API groups: the core group, dot-less groups (apps, batch...) and *.k8s.io."""
    return group == "" or "." not in group or group.endswith(".k8s.io")


@dataclass(frozen=True)
class Document:
    """One YAML document: its body plus where it came from."""

    file: str
    index: int
    body: Any
    family: Family

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", "")) if isinstance(self.body, dict) else ""

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", "")) if isinstance(self.body, dict) else ""

    @property
    def metadata(self) -> dict:
        meta = self.body.get("metadata") if isinstance(self.body, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.metadata.get("namespace")
        return str(namespace) if namespace is not None else None

    @property
    def spec(self) -> dict:
        spec = self.body.get("spec") if isinstance(self.body, dict) else None
        return spec if isinstance(spec, dict) else {}


def family_of(relative: pathlib.PurePosixPath, body: Any) -> Family:
    """Decide the validator of a document from its file's place and its apiVersion/kind."""
    if relative.name in STACK_FILE_NAMES and len(relative.parts) == 1:
        return Family.STACK
    if relative.parts[:1] == ("workflows",):
        return Family.WORKFLOW
    if not (isinstance(body, dict) and "apiVersion" in body and "kind" in body):
        return Family.PLAIN
    if not (isinstance(body["apiVersion"], str) and isinstance(body["kind"], str)):
        return Family.UNKNOWN_KIND
    group = api_group(body["apiVersion"])
    if group == ARGO_GROUP:
        return Family.ARGO
    if group == STRIMZI_GROUP:
        return Family.STRIMZI
    if is_builtin_group(group):
        return Family.KUBERNETES
    return Family.UNKNOWN_KIND


def display_name(path: pathlib.Path, repo_root: pathlib.Path) -> pathlib.PurePosixPath:
    """Repo-relative when inside the repo, else as given."""
    try:
        return pathlib.PurePosixPath(path.resolve().relative_to(repo_root.resolve()).as_posix())
    except ValueError:
        return pathlib.PurePosixPath(path.as_posix())


def load_file(path: pathlib.Path, repo_root: pathlib.Path) -> tuple[list[Document], list[Finding]]:
    """Every non-empty document of one file, or the Finding that says why it does not load."""
    relative = display_name(path, repo_root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [], [Finding(str(relative), 0, "", f"cannot be read: {error}")]
    try:
        bodies = list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        return [], [Finding(str(relative), 0, "", f"does not load as YAML: {problem}{where}")]
    documents = [Document(str(relative), index, body, family_of(relative, body))
                 for index, body in enumerate(bodies) if body is not None]
    return documents, []


def _git_listed(repo_root: pathlib.Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, or None when this is not a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(repo_root), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            check=True, capture_output=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [name for name in listed.decode("utf-8").split("\0") if name]


def is_manifest_candidate(relative: str) -> bool:
    """A YAML file outside the skipped folders."""
    parts = pathlib.PurePosixPath(relative).parts
    return relative.endswith(YAML_SUFFIXES) and not SKIPPED_FOLDERS.intersection(parts)


def discover(repo_root: pathlib.Path) -> list[pathlib.Path]:
    """Every YAML file of the repository, sorted: git's view when available, else a folder walk.

    Files listed by git but deleted from the working tree are left out.
    """
    listed = _git_listed(repo_root)
    if listed is None:
        listed = [p.relative_to(repo_root).as_posix() for p in repo_root.rglob("*") if p.is_file()]
    return sorted(repo_root / name for name in set(listed)
                  if is_manifest_candidate(name) and (repo_root / name).is_file())


def expand(paths: Iterable[pathlib.Path]) -> list[pathlib.Path]:
    """Files as given; folders replaced by the YAML files below them."""
    files: set[pathlib.Path] = set()
    for path in paths:
        if path.is_dir():
            files.update(p for p in path.rglob("*")
                         if p.is_file() and is_manifest_candidate(p.relative_to(path).as_posix()))
        else:
            files.add(path)
    return sorted(files)


def load_all(paths: Sequence[pathlib.Path], repo_root: pathlib.Path
             ) -> tuple[list[Document], list[Finding]]:
    """Load many files; documents in file order, load failures as findings."""
    documents: list[Document] = []
    findings: list[Finding] = []
    for path in paths:
        docs, problems = load_file(path, repo_root)
        documents.extend(docs)
        findings.extend(problems)
    return documents, findings
