"""Helpers that read settings from the environment and fail with a sentence, not a traceback."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is missing or malformed."""


def database_from_env(env: environ.Env, default: str) -> dict:
    """Parse DATABASE_URL, naming the variable when it is malformed."""
    raw = env.str("DATABASE_URL", default=default)
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ConfigError(f"DATABASE_URL is not a valid database URL ({exc}). "
                          "Expected e.g. postgres://user:pass@host:5432/name or sqlite:////abs/path.db") from exc
    engine = config.get("ENGINE", "")
    if not engine or (not config.get("NAME") and "sqlite" not in engine):
        raise ConfigError(f"DATABASE_URL {_redact(raw)!r} names no database. "
                          "Expected e.g. postgres://user:pass@host:5432/name")
    return config


def _redact(url: str) -> str:
    """Hide the password part of a URL for error messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def kept_secret(path: Path, make) -> str:
    """Return the secret stored at ``path``, creating it once (safe when processes race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(make())
    return path.read_text().strip()


def generated_secret_key() -> str:
    return secrets.token_urlsafe(50)


def generated_fernet_key() -> str:
    return Fernet.generate_key().decode()
