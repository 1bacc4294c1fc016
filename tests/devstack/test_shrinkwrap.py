"""Build contexts are laid out exactly as `faas-cli build --shrinkwrap` lays them out."""
import pathlib

import pytest

from devstack.shrinkwrap import BuildError, build_context
from devstack.stackfile import FunctionSpec, load_stack

REPO = pathlib.Path(__file__).resolve().parents[2]
STACK = load_stack(REPO / "stack.yml")
_IGNORED = {"__pycache__", ".pytest_cache"}


def _files(root: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not _IGNORED & set(p.relative_to(root).parts) and p.suffix != ".pyc"}


def _expected(fn: FunctionSpec) -> dict[str, bytes]:
    """template/<lang>/ with the handler laid over function/, then each copy path, then
    function/__init__.py as the Dockerfile touches it."""
    expected = _files(REPO / "template" / fn.lang)
    for rel, data in _files(REPO / fn.handler).items():
        if rel.split("/")[0] not in ("build", "template"):
            expected[f"function/{rel}"] = data
    for extra in STACK.copy:
        name = pathlib.PurePath(extra).name
        for rel, data in _files(REPO / extra).items():
            expected[f"function/{name}/{rel}"] = data
    expected.setdefault("function/__init__.py", b"")
    return expected


@pytest.mark.parametrize("name", sorted(STACK.functions))
def test_every_function_context_matches_the_shrinkwrap_layout(name, tmp_path):
    fn = STACK.functions[name]
    out = build_context(STACK, fn, tmp_path)
    assert out == tmp_path / name
    assert _files(out) == _expected(fn)
    # What the image runs: the template's entry point and the function's own handler.
    assert (out / "index.py").read_bytes() == (REPO / "template" / fn.lang / "index.py").read_bytes()
    assert (out / "function" / "handler.py").read_bytes() == (REPO / fn.handler / "handler.py").read_bytes()


def test_rebuild_clears_stale_files(tmp_path):
    fn = STACK.functions["ingest"]
    out = build_context(STACK, fn, tmp_path)
    (out / "function" / "stale.txt").write_text("left from an older build")
    build_context(STACK, fn, tmp_path)
    assert not (out / "function" / "stale.txt").exists()


@pytest.mark.parametrize("field,value,message", [
    ("lang", "no-such-template", "functions.ingest.lang"),
    ("handler", "./functions/no-such-handler", "functions.ingest.handler"),
], ids=["unknown-template", "missing-handler-folder"])
def test_a_broken_entry_names_the_field(tmp_path, field, value, message):
    fn = STACK.functions["ingest"]
    broken = FunctionSpec(**{**fn.__dict__, field: value})
    with pytest.raises(BuildError, match=message):
        build_context(STACK, broken, tmp_path)
