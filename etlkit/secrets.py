"""OpenFaaS secrets: files under /var/openfaas/secrets in a cluster, $OPENFAAS_SECRETS_DIR locally."""
from __future__ import annotations

import os

DEFAULT_SECRETS_DIR = "/var/openfaas/secrets"


def read_secret(name: str, secrets_dir: str | os.PathLike[str] | None = None) -> str | None:
    """The content of a secret file, without its trailing newline; None if absent.

    The folder is ``secrets_dir``, else ``$OPENFAAS_SECRETS_DIR``, else /var/openfaas/secrets.
    """
    folder = secrets_dir or os.environ.get("OPENFAAS_SECRETS_DIR") or DEFAULT_SECRETS_DIR
    try:
        with open(os.path.join(folder, name), encoding="utf-8") as secret:
            return secret.read().rstrip("\r\n")
    except FileNotFoundError:
        return None
