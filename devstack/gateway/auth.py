"""Basic auth credentials from secret files, compared in constant time.

OpenFaaS mounts `basic-auth-user` and `basic-auth-password` as files; the local stack keeps them
under .run/secrets/ and creates a random password on first start. Credentials are never logged.
"""
from __future__ import annotations

import base64
import hmac
import pathlib
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def __repr__(self) -> str:  # never let a password reach a log line through repr()
        return f"Credentials(user={self.user!r}, password='***')"

    def header(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def check(self, authorization: str | None) -> bool:
        """True when the Authorization header carries these credentials."""
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(authorization[6:], validate=True)
        except ValueError:
            return False
        expected = f"{self.user}:{self.password}".encode()
        return hmac.compare_digest(given, expected)


def load_credentials(secrets_dir: pathlib.Path, create: bool = False) -> Credentials:
    """Read basic-auth-user/basic-auth-password; create them (mode 0600) when asked and absent."""
    user_file, password_file = secrets_dir / "basic-auth-user", secrets_dir / "basic-auth-password"
    if create and not password_file.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        for path, value in ((user_file, "admin"), (password_file, secrets.token_urlsafe(24))):
            path.write_text(value)
            path.chmod(0o600)
    if not user_file.is_file() or not password_file.is_file():
        raise FileNotFoundError(f"basic auth secrets missing under {secrets_dir}")
    return Credentials(user_file.read_text().strip(), password_file.read_text().strip())
