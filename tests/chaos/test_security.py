"""The security properties of issue 7, checked by inspection where possible, else by running.

By reading the source (``source_scan``): no shell, no eval, no unsafe YAML; every outbound call
with a timeout; loopback defaults and no wildcard address; no secret in a log line; jinja2 only
sandboxed with StrictUndefined; SQL identifiers quoted, values bound. By reading the manifests:
non-root, read-only containers, least-privilege RBAC, NetworkPolicies in front of the gateway,
Kafka and PostgreSQL. By running: every socket the local stack listens on is bound to
127.0.0.1; the gateway's credentials come from secret files and are compared in constant time.
"""
import ast
import os
import pathlib
import re

import pytest
import yaml

from devstack.gateway import auth
from devstack.gateway.auth import Credentials, load_credentials

from . import source_scan as scan

REPO = scan.REPO


@pytest.mark.parametrize("check,roots", [
    (scan.shell_true, scan.SOURCE_ROOTS),
    (scan.code_execution, scan.SOURCE_ROOTS),
    (scan.missing_timeouts, scan.SOURCE_ROOTS),
    (scan.host_defaults, scan.SOURCE_ROOTS),
    (scan.logged_secrets, scan.SOURCE_ROOTS),
    (scan.jinja_environments, scan.SOURCE_ROOTS),
    (scan.sql_interpolation, (*scan.SHIPPED_ROOTS, "devstack/chaos")),
], ids=["no-shell-true", "no-eval-or-unsafe-yaml", "timeouts-on-outbound-calls",
        "loopback-by-default", "no-secret-logged", "sandboxed-jinja", "sql-quoted-and-bound"])
def test_the_source_tree(check, roots):
    findings = scan.scan(check, roots)
    assert not findings, "\n" + "\n".join(map(str, findings))


# The scanner itself: each check must find what it is there to find.
@pytest.mark.parametrize("check,source,rule", [
    (scan.shell_true, "import subprocess\nsubprocess.run('ls', shell=True)", "shell="),
    (scan.shell_true, "import subprocess\nsubprocess.run(cmd, shell=flag)", "shell="),
    (scan.code_execution, "eval(text)", "eval()"),
    (scan.code_execution, "import yaml\nyaml.load(text)", "SafeLoader"),
    (scan.code_execution, "import subprocess\nsubprocess.run('rm -rf /')", "argv list"),
    (scan.missing_timeouts, "import requests\nrequests.get(url)", "timeout="),
    (scan.missing_timeouts, "import requests\nwith requests.Session() as s:\n    s.post(url)", "timeout="),
    (scan.missing_timeouts, "import requests\nself.http = requests.Session()\nself.http.get(u)", "timeout="),
    (scan.missing_timeouts, "import http.client\nhttp.client.HTTPConnection('h', 1)", "timeout="),
    (scan.missing_timeouts, "import psycopg\npsycopg.connect(url)", "connect_timeout="),
    (scan.host_defaults, "def serve(host='0.0.0.0'): pass", "wildcard"),
    (scan.host_defaults, "class C:\n    host: str = '10.0.0.1'", "field host"),
    (scan.host_defaults, "p.add_argument('--host', default='example.org')", "--host"),
    (scan.logged_secrets, "print(f'password {creds.password}')", "logs 'password'"),
    (scan.logged_secrets, "log.info('token %s', token)", "logs 'token'"),
    (scan.jinja_environments, "from jinja2 import Environment\nEnvironment()", "SandboxedEnvironment"),
    (scan.jinja_environments, "from jinja2.sandbox import SandboxedEnvironment\nSandboxedEnvironment()",
     "StrictUndefined"),
    (scan.sql_interpolation, "def f(db, t):\n    db.execute(f'SELECT * FROM {t}')", "interpolates 't'"),
    (scan.sql_interpolation, "def f(db, v):\n    db.execute(f\"DELETE FROM x WHERE a = '{v}'\")", "'v'"),
], ids=["shell-literal", "shell-variable", "eval", "yaml-load", "command-string", "requests-get",
        "with-session", "attribute-session", "http-client", "psycopg", "wildcard-default",
        "dataclass-host", "argparse-host", "print-password", "log-token", "jinja-environment",
        "sandbox-without-strict", "sql-identifier", "sql-value"])
def test_each_check_finds_what_it_looks_for(check, source, rule):
    findings = list(check(scan.Module("example.py", ast.parse(source))))
    assert any(rule in f.rule for f in findings), findings


@pytest.mark.parametrize("check,source", [
    (scan.missing_timeouts, "import requests\nrequests.get(url, timeout=5)"),
    (scan.missing_timeouts, "requests = {}\nrequests.get('cpu')"),  # a dict named requests
    (scan.sql_interpolation, "def f(db, t):\n    db.execute(f'SELECT * FROM {quote(t)}')"),
    (scan.sql_interpolation, "def f(db, cs):\n    cols = ', '.join(quote(c) for c in cs) or '*'\n"
                             "    db.execute(f'SELECT {cols} FROM x')"),
    (scan.host_defaults, "def serve(host='127.0.0.1'): pass"),
], ids=["timeout-given", "not-the-requests-module", "quoted-identifier", "built-from-quote",
        "loopback-default"])
def test_the_checks_pass_what_is_fine(check, source):
    assert list(check(scan.Module("example.py", ast.parse(source)))) == []


# -- running: what the local stack listens on ---------------------------------------------------
def _listening(pids):
    """(pid, address) of every TCP socket in LISTEN state owned by ``pids``."""
    inodes = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except (FileNotFoundError, PermissionError):
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address = local.split(":")[0]
                found.append((inodes[inode], address if width == 32 else
                              ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))))
    return found


def test_every_socket_of_the_local_stack_listens_on_loopback(local_stack):
    replicas = local_stack.gateway.replicas
    pids = {os.getpid(), local_stack.broker.pid if local_stack.broker else None}
    pids |= {w.pid for name in replicas.deployments for w in replicas.ready_workers(name)}
    listening = _listening(pid for pid in pids if pid)
    assert len({pid for pid, _ in listening}) >= 3  # the gateway (this process), workers, broker
    assert all(address == "127.0.0.1" for _, address in listening), listening


# -- credentials ---------------------------------------------------------------------------------
def test_credentials_come_from_secret_files_and_never_show(tmp_path):
    created = load_credentials(tmp_path, create=True)
    assert oct((tmp_path / "basic-auth-password").stat().st_mode & 0o777) == "0o600"
    assert load_credentials(tmp_path) == created  # read back from the files, not kept elsewhere
    assert created.password not in repr(created) and created.password not in str(created)
    with pytest.raises(FileNotFoundError):
        load_credentials(tmp_path / "missing")


def test_basic_auth_is_compared_in_constant_time():
    tree = ast.parse(pathlib.Path(auth.__file__).read_text())
    check = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "check")
    compared = [scan.dotted(c.func) for c in scan.calls(check)]
    assert "hmac.compare_digest" in compared
    assert not any(isinstance(n, ast.Compare) and any(isinstance(o, (ast.Eq, ast.NotEq)) for o in n.ops)
                   and "password" in ast.unparse(n) for n in ast.walk(check))
    creds = Credentials("admin", "s3cret")
    assert creds.check(creds.header())
    assert not creds.check(Credentials("admin", "s3cre").header())
    assert not creds.check("Basic !!!not-base64")


def test_the_gateway_credentials_are_the_openfaas_secret_names():
    source = pathlib.Path(auth.__file__).read_text()
    assert '"basic-auth-user"' in source and '"basic-auth-password"' in source


# -- Kubernetes and images -----------------------------------------------------------------------
def _documents(folder):
    for path in sorted((REPO / folder).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                yield path.relative_to(REPO).as_posix(), doc


def _pod_specs():
    for path, doc in _documents("k8s"):
        spec = doc.get("spec") or {}
        template = (spec.get("template") or {}).get("spec")
        if template:
            yield path, template


def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem():
    specs = list(_pod_specs())
    assert specs, "no workload under k8s/"
    for path, spec in specs:
        assert (spec.get("securityContext") or {}).get("runAsNonRoot") is True, path
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            sc = container.get("securityContext") or {}
            assert sc.get("allowPrivilegeEscalation") is False, (path, container["name"])
            assert sc.get("readOnlyRootFilesystem") is True, (path, container["name"])
            assert (sc.get("capabilities") or {}).get("drop") == ["ALL"], (path, container["name"])


def test_function_images_run_as_a_non_root_user():
    dockerfile = (REPO / "template" / "python3-etl" / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")  # the last USER is the one that ships


def test_every_function_has_a_read_only_root_filesystem():
    functions = yaml.safe_load((REPO / "stack.yml").read_text())["functions"]
    assert [name for name, fn in functions.items() if fn.get("readonly_root_filesystem") is not True] == []


def test_rbac_grants_no_wildcard_and_no_secrets():
    for path, doc in _documents("k8s/rbac"):
        for rule in doc.get("rules") or []:
            for key in ("verbs", "resources", "apiGroups"):
                assert "*" not in (rule.get(key) or []), (path, key)
            assert "secrets" not in (rule.get("resources") or []), path
            assert not set(rule.get("verbs") or []) & {"escalate", "bind", "impersonate"}, path


@pytest.mark.parametrize("target,namespace,port", [
    ("gateway", "openfaas", 8080), ("kafka", "kafka", 9092), ("postgres", "etl-data", 5432)])
def test_a_network_policy_limits_who_reaches(target, namespace, port):
    policies = [doc for _, doc in _documents("k8s/network") if doc.get("kind") == "NetworkPolicy"
                and doc["metadata"]["namespace"] == namespace and target in doc["metadata"]["name"]]
    assert policies, f"no NetworkPolicy in front of {target}"
    for policy in policies:
        spec = policy["spec"]
        assert spec["podSelector"].get("matchLabels"), "selects the target pods, not every pod"
        assert "Ingress" in spec["policyTypes"]
        sources = [peer for rule in spec.get("ingress", []) for peer in rule.get("from", [])]
        assert sources, "an ingress rule without `from` would admit everyone"
        for rule in spec.get("ingress", []):
            assert rule.get("from"), "an ingress rule without `from` admits everyone"
        ports = {p["port"] for rule in spec.get("ingress", []) for p in rule.get("ports", [])}
        assert port in ports
