"""`faas-cli build --shrinkwrap`, in Python: write build/<fn>/ exactly as faas-cli lays it out.

faas-cli clears build/<fn>/, copies template/<lang>/ into it, lays the handler folder over
build/<fn>/function/ (skipping the handler's own `build` and `template` folders), then copies each
`configuration.copy` path to build/<fn>/function/<path>. Local runs serve functions from these
folders, so what runs locally is what would go into the image.
"""
from __future__ import annotations

import os
import pathlib
import shutil

from .stackfile import FunctionSpec, Stack

_SKIPPED_IN_HANDLER = {"build", "template"}
# Python's own droppings are not part of a function; faas-cli would copy them, but they are
# never committed, so leaving them out keeps local builds equal to builds from a clean clone.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class BuildError(RuntimeError):
    """A build context cannot be written; the message names the function and the path."""


def _copy(src: pathlib.Path, dst: pathlib.Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True, ignore=_IGNORED)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def _inside(path: pathlib.Path, root: pathlib.Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def build_context(stack: Stack, fn: FunctionSpec, build_root: pathlib.Path | None = None) -> pathlib.Path:
    """Write the build context of one function and return its folder."""
    root = stack.root
    build_root = build_root or root / "build"
    template = root / "template" / fn.lang
    handler = root / fn.handler
    if not (template / "template.yml").is_file():
        raise BuildError(f"functions.{fn.name}.lang: no template at {template}")
    if not handler.is_dir():
        raise BuildError(f"functions.{fn.name}.handler: {handler} is not a folder")
    out = build_root / fn.name
    shutil.rmtree(out, ignore_errors=True)
    (out / "function").mkdir(parents=True)
    _copy(template, out)
    for entry in sorted(handler.iterdir()):
        if entry.name in _SKIPPED_IN_HANDLER or entry.name in ("__pycache__", ".pytest_cache"):
            continue
        _copy(entry, out / "function" / entry.name)
    for extra in stack.copy:
        src = root / extra
        if not _inside(src, root):
            raise BuildError(f"configuration.copy: {extra} is outside the stack's folder")
        if not src.exists():
            raise BuildError(f"configuration.copy: {extra} does not exist")
        _copy(src, out / "function" / os.path.normpath(extra))
    # The Dockerfile creates function/__init__.py (`touch`); do it here too so local runs match.
    (out / "function" / "__init__.py").touch()
    return out


def build_all(stack: Stack, build_root: pathlib.Path | None = None,
              names: list[str] | None = None) -> dict[str, pathlib.Path]:
    return {name: build_context(stack, stack.functions[name], build_root)
            for name in (names or sorted(stack.functions))}
