"""Strict validation of the repository's manifests and of the references between them.

Argo Events documents (official JSON schema + unknown fields + controller rules), built-in
Kubernetes kinds (kubernetes-validate --strict, pinned release), Strimzi resources (structural
rules), stack.yml (faas-cli rules and Community Edition limits), and cross-file references.

    >>> from devstack.manifests import validate_paths
    >>> report = validate_paths(repo_root=repo)          # doctest: +SKIP
    >>> for finding in report.findings: print(finding)   # doctest: +SKIP
"""
from .cross_refs import Catalog, build_catalog
from .documents import Document, Family, discover, load_file
from .findings import Finding, format_path
from .rbac import Grant, grants_of
from .validate import Checkers, Report, validate_documents, validate_paths

__all__ = ["Catalog", "Checkers", "Document", "Family", "Finding", "Grant", "Report",
           "build_catalog", "discover", "format_path", "grants_of", "load_file",
           "validate_documents", "validate_paths"]
