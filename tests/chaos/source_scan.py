"""Security properties of the source tree, checked by reading it (ast), not by trusting it.

Each check walks the parsed modules and returns :class:`Finding`s (file, line, rule); the
tests assert there are none, so the finding names exactly what to fix. The source tree is what
ships or runs the stack (``etlkit``, ``functions``, ``controller-fn``, ``template``, ``devstack``,
``bench``); tests are not scanned.
"""
from __future__ import annotations

import ast
import functools
import pathlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

REPO = pathlib.Path(__file__).resolve().parents[2]
SOURCE_ROOTS = ("etlkit", "functions", "controller-fn", "template", "devstack", "bench")
SHIPPED_ROOTS = ("etlkit", "functions", "controller-fn", "template")  # what goes into an image
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HTTP_VERBS = {"get", "post", "put", "delete", "patch", "head", "options", "request"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


@dataclass(frozen=True)
class Module:
    path: str
    tree: ast.Module

    def finding(self, node: ast.AST, rule: str) -> Finding:
        return Finding(self.path, getattr(node, "lineno", 0), rule)


def modules(roots: Iterable[str] = SOURCE_ROOTS) -> list[Module]:
    found = []
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(REPO).as_posix()
            found.append(Module(rel, _parsed(path, path.stat().st_mtime_ns)))
    return found


@functools.lru_cache(maxsize=None)
def _parsed(path: pathlib.Path, mtime_ns: int) -> ast.Module:
    """One parse per file and version: every check walks the same ~260 trees (the checks only
    read them), so the source tree is parsed once per session, not once per check."""
    return ast.parse(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain ("" for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return dotted(node.func) + "()"
    return ""


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (n for n in ast.walk(tree) if isinstance(n, ast.Call))


def scan(check: Callable[[Module], Iterable[Finding]], roots: Iterable[str] = SOURCE_ROOTS) -> list[Finding]:
    return [f for m in modules(roots) for f in check(m)]


# -- no shell, no eval -------------------------------------------------------------------------
def shell_true(m: Module) -> Iterator[Finding]:
    """``shell=`` anything but a literal False."""
    for call in calls(m.tree):
        kw = keyword(call, "shell")
        if kw is not None and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
            yield m.finding(call, f"{dotted(call.func)}(shell=...): run an argv list, never a shell")


DANGEROUS = {"eval": "eval()", "exec": "exec()", "os.system": "os.system()", "os.popen": "os.popen()",
             "pickle.loads": "pickle.loads()", "pickle.load": "pickle.load()", "marshal.loads": "marshal.loads()",
             "yaml.unsafe_load": "yaml.unsafe_load()", "yaml.full_load": "yaml.full_load()",
             "subprocess.getoutput": "subprocess.getoutput() (a shell)",
             "subprocess.getstatusoutput": "subprocess.getstatusoutput() (a shell)"}


def code_execution(m: Module) -> Iterator[Finding]:
    """Calls that run text as code or as a shell command, and unsafe YAML loading."""
    for call in calls(m.tree):
        name = dotted(call.func)
        if name in DANGEROUS:
            yield m.finding(call, f"{DANGEROUS[name]} must not be used")
        elif name == "yaml.load":
            loader = keyword(call, "Loader")
            arg = call.args[1] if len(call.args) > 1 else (loader.value if loader else None)
            if arg is None or "Safe" not in dotted(arg):
                yield m.finding(call, "yaml.load() without a SafeLoader")
        elif name.startswith("subprocess.") and call.args and isinstance(call.args[0], (ast.Constant, ast.JoinedStr)):
            yield m.finding(call, f"{name}() with a command string: pass an argv list")


# -- timeouts ----------------------------------------------------------------------------------
def _session_names(tree: ast.AST) -> set[str]:
    """Names (``x``, ``self.x``) bound to a requests Session in this module."""
    names: set[str] = set()

    def is_session(value: ast.AST | None) -> bool:
        return isinstance(value, ast.Call) and dotted(value.func).split(".")[-1] in ("Session", "session")

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and is_session(node.value):
            names.update(dotted(t) for t in node.targets)
        elif isinstance(node, ast.AnnAssign) and is_session(node.value):
            names.add(dotted(node.target))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if is_session(item.context_expr) and item.optional_vars is not None:
                    names.add(dotted(item.optional_vars))
    names.discard("")
    return names


def _imports(tree: ast.AST, module: str) -> bool:
    return any(isinstance(n, ast.Import) and any(a.name == module and a.asname is None for a in n.names)
               for n in ast.walk(tree))


def missing_timeouts(m: Module) -> Iterator[Finding]:
    """Every outbound HTTP call and connection names its timeout."""
    sessions = _session_names(m.tree)
    uses_requests = _imports(m.tree, "requests")  # else ``requests`` is some local dict
    for call in calls(m.tree):
        name = dotted(call.func)
        receiver, _, method = name.rpartition(".")
        needs = None
        if receiver == "requests" and uses_requests and method in HTTP_VERBS:
            needs = "timeout"
        elif receiver in sessions and method in HTTP_VERBS:
            needs = "timeout"
        elif name in ("urllib.request.urlopen", "request.urlopen", "urlopen"):
            needs = "timeout"
        elif name.endswith(("http.client.HTTPConnection", "http.client.HTTPSConnection")) or name in (
                "HTTPConnection", "HTTPSConnection"):
            needs = "timeout"
        elif name in ("socket.create_connection", "create_connection"):
            if len(call.args) >= 2:
                continue
            needs = "timeout"
        elif name == "psycopg.connect":
            needs = "connect_timeout"
        if needs and keyword(call, needs) is None and not any(k.arg is None for k in call.keywords):
            yield m.finding(call, f"{name}() without {needs}=")


# -- loopback by default -----------------------------------------------------------------------
def _is_host_name(name: str | None) -> bool:
    return bool(name) and (name in ("host", "bind_host", "listen_host") or name.endswith("_host"))


def _literal(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def host_defaults(m: Module) -> Iterator[Finding]:
    """Parameters, dataclass fields and ``--host`` options default to loopback; no wildcard
    address appears as a literal anywhere."""
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Constant) and node.value in ("0.0.0.0", "::", "[::]"):
            yield m.finding(node, f"wildcard address {node.value!r}: bind 127.0.0.1")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if _is_host_name(arg.arg) and isinstance(default, ast.Constant) \
                        and default.value not in LOOPBACK:
                    yield m.finding(arg, f"parameter {arg.arg} defaults to {default.value!r}")
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and _is_host_name(node.target.id) and isinstance(node.value, ast.Constant) \
                and node.value.value not in LOOPBACK:
            yield m.finding(node, f"field {node.target.id} defaults to {node.value.value!r}")
        if isinstance(node, ast.Call) and dotted(node.func).endswith("add_argument") \
                and any(_literal(a) == "--host" for a in node.args):
            default = keyword(node, "default")
            if default is not None and _literal(default.value) not in LOOPBACK | {None}:
                yield m.finding(node, f"--host defaults to {_literal(default.value)!r}")


# -- secrets never logged ------------------------------------------------------------------------
LOGGING = {"print", "say", "progress", "eprint"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log", "write"}
SECRET_WORDS = ("password", "passwd", "secret", "token", "credential")


def logged_secrets(m: Module) -> Iterator[Finding]:
    """A log line or print never carries a password, secret or token value."""
    for call in calls(m.tree):
        name = dotted(call.func)
        last = name.rpartition(".")[2]
        if not (name in LOGGING or (name.count(".") >= 1 and last in LOG_METHODS
                                     and any(w in name for w in ("log", "stderr", "stdout")))):
            continue
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            for node in ast.walk(arg):
                word = node.attr if isinstance(node, ast.Attribute) else (
                    node.id if isinstance(node, ast.Name) else None)
                if word and any(w in word.lower() for w in SECRET_WORDS) \
                        and not word.lower().endswith(("_file", "_path", "_dir", "_ref", "_name")):
                    yield m.finding(call, f"{name}() logs {word!r}")


# -- templates sandboxed -------------------------------------------------------------------------
def jinja_environments(m: Module) -> Iterator[Finding]:
    """Every jinja2 environment is sandboxed with StrictUndefined; no bare Template(text)."""
    imported = {alias.asname or alias.name for node in ast.walk(m.tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("jinja2") for alias in node.names}
    uses_jinja = imported or any(isinstance(n, ast.Import) and any(a.name == "jinja2" for a in n.names)
                                 for n in ast.walk(m.tree))
    if not uses_jinja:
        return
    for call in calls(m.tree):
        name = dotted(call.func)
        last = name.rpartition(".")[2]
        if last in ("Environment", "NativeEnvironment", "ImmutableSandboxedEnvironment") \
                or name in ("jinja2.Template", "Template") and "Template" in imported | {"jinja2.Template"}:
            yield m.finding(call, f"{name}(): use jinja2.sandbox.SandboxedEnvironment")
        elif last == "SandboxedEnvironment":
            undefined = keyword(call, "undefined")
            if undefined is None or dotted(undefined.value).rpartition(".")[2] != "StrictUndefined":
                yield m.finding(call, "SandboxedEnvironment without undefined=StrictUndefined")
        elif last == "from_string":
            yield m.finding(call, "from_string(): templates come from the template folder, not data")


# -- SQL: identifiers quoted, values bound -------------------------------------------------------
SQL_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP", "PRAGMA",
              "ON CONFLICT", "TRUNCATE", "COPY", "WITH")
SQL_BUILDERS = {"quote", "check_identifier", "column_list", "on_conflict_clause",
                "create_table_statement", "update_assignments", "distinct"}


def _sql_text(node: ast.JoinedStr) -> bool:
    first = node.values[0] if node.values else None
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return False
    words = first.value.upper().split()
    return bool(words) and (words[0] in SQL_STARTS or " ".join(words[:2]) in SQL_STARTS)


def _safe_sql_part(expr: ast.AST, local: dict[str, ast.AST], depth: int = 0) -> bool:
    """Text that can only be quoted identifiers, SQL type names or fixed text."""
    if depth > 8:
        return False
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.Call):
        name = dotted(expr.func).rpartition(".")[2]
        if name in SQL_BUILDERS:
            return True
        if name == "join" and isinstance(expr.func, ast.Attribute) and isinstance(expr.func.value, ast.Constant):
            return all(_safe_sql_part(a, local, depth + 1) for a in expr.args)
        return False
    if isinstance(expr, (ast.GeneratorExp, ast.ListComp)):
        return _safe_sql_part(expr.elt, local, depth + 1)
    if isinstance(expr, ast.JoinedStr):
        return all(_safe_sql_part(v.value, local, depth + 1) for v in expr.values
                   if isinstance(v, ast.FormattedValue))
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _safe_sql_part(expr.left, local, depth + 1) and _safe_sql_part(expr.right, local, depth + 1)
    if isinstance(expr, ast.BoolOp):  # ", ".join(...) or "*"
        return all(_safe_sql_part(v, local, depth + 1) for v in expr.values)
    if isinstance(expr, ast.IfExp):
        return _safe_sql_part(expr.body, local, depth + 1) and _safe_sql_part(expr.orelse, local, depth + 1)
    if isinstance(expr, ast.Subscript):  # POSTGRES_TYPES[c.type], sql_types[...]
        return dotted(expr.value).rpartition(".")[2].lower().endswith("types")
    if isinstance(expr, ast.Name):
        if expr.id.isupper():
            return True
        value = local.get(expr.id)
        return value is not None and _safe_sql_part(value, local, depth + 1)
    return False


def sql_interpolation(m: Module) -> Iterator[Finding]:
    """An SQL f-string interpolates only quoted identifiers (``quote()`` and the builders made of
    it), type names and constants: values always travel as bound parameters."""
    for func in ast.walk(m.tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local: dict[str, ast.AST] = {}
        for node in ast.walk(func):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    local[target.id] = node.value
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    local.update((t.id, v) for t, v in zip(target.elts, node.value.elts)
                                 if isinstance(t, ast.Name))
        for node in ast.walk(func):
            if isinstance(node, ast.JoinedStr) and _sql_text(node):
                for part in node.values:
                    if isinstance(part, ast.FormattedValue) and not _safe_sql_part(part.value, local):
                        yield m.finding(node, f"SQL text interpolates {ast.unparse(part.value)!r}: "
                                              "quote() identifiers, bind values")
