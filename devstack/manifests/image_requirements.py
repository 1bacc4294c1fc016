"""Each function's image, built in the mind of ``docker build``: every import it makes resolvable.

faas-cli builds a function from ``template/<lang>/`` (whose ``requirements.txt`` is installed
first), its handler folder (its own ``requirements.txt``) and the stack's ``configuration.copy``
paths (``etlkit``). Nothing else is in the image, so a third-party module its code imports and
no requirements file names is an ImportError in the cluster, while the development virtualenv,
which holds every package, hides it.

:func:`image_problems` walks the imports the image's code makes, from the handler through every
``etlkit`` module it reaches, and names each distribution that no requirements file of the image
pins. An import at module level counts always; one inside a function (a lazy import: psycopg
behind a PostgreSQL URL, the Kubernetes client behind its platform) counts when the function's
environment selects it (:data:`LAZY_WHEN`). ``make image-check`` then downloads the wheels of
every pinned requirement for the base image's Python and glibc (:func:`pip_download_args`), the
other half of "resolvable".
"""
from __future__ import annotations

import ast
import functools
import pathlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ..stackfile import FunctionSpec, Stack

# Import name -> the distributions any of which brings it (the ones our code imports; urllib3
# is a dependency of requests and of the Kubernetes client, never pinned on its own).
DISTRIBUTIONS = {
    "confluent_kafka": ("confluent-kafka",), "psycopg": ("psycopg",), "yaml": ("pyyaml",),
    "kubernetes": ("kubernetes",), "numpy": ("numpy",), "requests": ("requests",),
    "jinja2": ("jinja2",), "jsonschema": ("jsonschema",), "orjson": ("orjson",),
    "waitress": ("waitress",), "urllib3": ("urllib3", "requests", "kubernetes"),
}

# A lazy import of these is made only under this condition of the function's environment.
LAZY_WHEN: Mapping[str, Callable[[Mapping[str, str]], bool]] = {
    "psycopg": lambda env: any(str(v).startswith(("postgresql://", "postgres://")) for v in env.values()),
    "kubernetes": lambda env: env.get("PLATFORM") == "kubernetes" or env.get("RUN_BACKEND") == "kubernetes",
}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")


@dataclass(frozen=True)
class Import:
    module: str  # the top-level name
    lazy: bool  # inside a function body: made only when that code runs
    where: str  # file:line


def pinned(path: pathlib.Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by normalised distribution name."""
    out: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _REQUIREMENT.match(line)
            if match:
                out[match.group(1).lower().replace("_", "-")] = match.group(3)
    return out


def unpinned(path: pathlib.Path) -> list[str]:
    """Requirement lines that pin no exact version (a build would take whatever is newest)."""
    if not path.is_file():
        return []
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not _REQUIREMENT.match(line)]


@functools.lru_cache(maxsize=None)
def _imports(path: pathlib.Path, root: pathlib.Path) -> tuple[tuple[str, bool, str], ...]:
    """(absolute module name, lazy, where) of every import statement in ``path`` (each file is
    parsed once per process: every function's walk goes through the same etlkit modules)."""
    return tuple(_walk_imports(path, root))


def _walk_imports(path: pathlib.Path, root: pathlib.Path) -> Iterator[tuple[str, bool, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] if "." in package else package
        base_parts = package.split(".")
    else:
        base_parts = package.split(".")[:-1]

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[str, bool, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Try) and _catches_import_error(child):
                # an optional import (the code has a fallback): only the handlers must resolve
                for handler in child.handlers:
                    yield from visit(handler, lazy)
                for rest in (*child.orelse, *child.finalbody):
                    yield from visit(ast.Module(body=[rest], type_ignores=[]), lazy)
                continue
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            where = f"{path.relative_to(root)}:{getattr(child, 'lineno', 0)}"
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, lazy, where
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = base_parts[:len(base_parts) - (child.level - 1)] if child.level > 1 else base_parts
                    stem = ".".join(parts + ([child.module] if child.module else []))
                    yield stem, lazy, where
                    for alias in child.names:  # `from . import x` may name a submodule
                        yield f"{stem}.{alias.name}", lazy, where
                elif child.module:
                    yield child.module, lazy, where
                    for alias in child.names:
                        yield f"{child.module}.{alias.name}", lazy, where
            if not isinstance(child, ast.If) or not _is_type_checking(child):
                yield from visit(child, inner)

    yield from visit(tree, False)


def _catches_import_error(node: ast.Try) -> bool:
    names = []
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names += [k.id for k in kinds if isinstance(k, ast.Name)]
    return bool({"ImportError", "ModuleNotFoundError"} & set(names))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_file(name: str, roots: list[pathlib.Path],
                 copied: frozenset[str] | None = None) -> tuple[pathlib.Path, pathlib.Path] | None:
    """The file of local module ``name``: in the handler folder (the first root) or, for a
    package the stack copies into the image (``copied``), under the stack's folder."""
    parts = name.split(".")
    for index, root in enumerate(roots):
        if index and copied is not None and parts[0] not in copied:
            continue
        for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate, root
    return None


def third_party_imports(handler_dir: pathlib.Path, repo: pathlib.Path, copied: frozenset[str]) -> list[Import]:
    """Every import of a module outside the image's own code and the standard library, made by
    the handler folder's modules and every local module they reach (a lazy edge makes what lies
    behind it lazy too)."""
    stdlib = set(sys.stdlib_module_names)
    seen: dict[pathlib.Path, bool] = {}
    found: dict[tuple[str, bool], Import] = {}
    todo = [(path, handler_dir, False) for path in sorted(handler_dir.glob("*.py"))]
    while todo:
        path, root, lazy = todo.pop()
        if path in seen and (seen[path] is False or lazy):
            continue
        seen[path] = lazy
        for name, inner_lazy, where in _imports(path, root):
            now_lazy = lazy or inner_lazy
            top = name.split(".")[0]
            roots = [handler_dir, repo]
            local = _module_file(name, roots, copied)
            if local is not None:
                todo.append((local[0], local[1], now_lazy))
            elif top in stdlib or top == "__future__" or _module_file(top, roots, copied) is not None:
                continue
            else:
                key = (top, now_lazy)
                found.setdefault(key, Import(top, now_lazy, where))
    return sorted(found.values(), key=lambda i: (i.module, i.lazy))


def image_problems(stack: Stack, fn: FunctionSpec) -> list[str]:
    """What would break ``fn``'s image: an import no requirements file pins, an unpinned line."""
    repo = stack.path.parent
    template_dir = repo / "template" / fn.lang
    handler_dir = (repo / fn.handler).resolve()
    files = [template_dir / "requirements.txt", handler_dir / "requirements.txt"]
    have: dict[str, str] = {}
    problems = []
    for file in files:
        have.update(pinned(file))
        problems += [f"{fn.name}: {file.relative_to(repo)}: {line!r} pins no exact version"
                     for line in unpinned(file)]
    copied = frozenset(pathlib.PurePosixPath(c).name for c in stack.copy)
    needed: dict[str, Import] = {}
    for item in third_party_imports(handler_dir, repo, copied):
        if item.lazy and not LAZY_WHEN.get(item.module, lambda env: True)(fn.environment):
            continue
        needed.setdefault(item.module, item)
    for module, item in sorted(needed.items()):
        dists = DISTRIBUTIONS.get(module)
        if dists is None:
            problems.append(f"{fn.name}: imports {module} ({item.where}), a module of no known distribution")
        elif not set(dists) & set(have):
            dist = dists[0]
            why = " (lazily, which its environment selects)" if item.lazy else ""
            problems.append(f"{fn.name}: imports {module} ({item.where}){why}, but neither "
                            f"{files[0].relative_to(repo)} nor {files[1].relative_to(repo)} pins {dist}")
    return problems


# The base image we name (template Dockerfile: python:<PYTHON_VERSION>-slim-bookworm) has glibc
# 2.36; pip's --platform takes exact tags, so every manylinux tag that glibc runs is listed.
GLIBC = (2, 36)


def pip_download_args(python_version: str, requirement_files: list[pathlib.Path], dest: pathlib.Path) -> list[str]:
    """``pip download`` of binary wheels only, for the image's interpreter and platform."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC[1], 16, -1)]
    tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    args = ["download", "--quiet", "--only-binary=:all:", "--implementation", "cp",
            "--python-version", python_version, "--dest", str(dest)]
    for tag in tags:
        args += ["--platform", tag]
    for file in requirement_files:
        args += ["-r", str(file)]
    return args


def dockerfile_python(dockerfile: pathlib.Path) -> str:
    """The ``ARG PYTHON_VERSION=`` default of the template's Dockerfile."""
    match = re.search(r"^ARG PYTHON_VERSION=(\S+)", dockerfile.read_text(encoding="utf-8"), re.M)
    if not match:
        raise ValueError(f"{dockerfile}: no ARG PYTHON_VERSION=<version>")
    return match.group(1)


def main() -> int:
    """``make image-check``: the import check of every function, then ``pip download`` of the
    binary wheels of every requirements file for the base image's Python and glibc (PyPI)."""
    import subprocess
    import tempfile

    from ..stackfile import load_stack

    repo = pathlib.Path(__file__).resolve().parents[2]
    stack = load_stack(repo / "stack.yml")
    problems = [p for fn in stack.functions.values() for p in image_problems(stack, fn)]
    print("\n".join(problems) or f"imports: every import of the {len(stack.functions)} images is pinned")
    version = dockerfile_python(repo / "template" / "python3-etl" / "Dockerfile")
    files = sorted({repo / "template" / fn.lang / "requirements.txt" for fn in stack.functions.values()}
                   | {(repo / fn.handler / "requirements.txt").resolve() for fn in stack.functions.values()
                      if (repo / fn.handler / "requirements.txt").is_file()})
    with tempfile.TemporaryDirectory(prefix="faas-etl-wheels-") as dest:
        done = subprocess.run([sys.executable, "-m", "pip", *pip_download_args(version, files, pathlib.Path(dest))])
        wheels = sorted(p.name for p in pathlib.Path(dest).iterdir())
    print(f"wheels for CPython {version}, glibc {GLIBC[0]}.{GLIBC[1]}: "
          + ("; ".join(wheels) if done.returncode == 0 else "pip download FAILED (above)"))
    return 1 if problems or done.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
