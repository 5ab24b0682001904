"""Helpers that read settings from the environment and fail with a sentence, not a traceback."""
from __future__ import annotations

import os
import secrets
import warnings
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # environ warns, then returns {}: we say it better below
            config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ConfigError(f"DATABASE_URL is not a valid database URL ({exc}). "
                          "Expected e.g. postgres://user:pass@host:5432/name or sqlite:////abs/path.db") from exc
    engine = config.get("ENGINE", "")
    if not engine.startswith("django.db.backends.") and "." not in engine:
        raise ConfigError(f"DATABASE_URL {_redact(raw)!r} is not a supported database URL. "
                          "Use postgres://user:pass@host:5432/name (production) or sqlite:////abs/path.db")
    if not config.get("NAME"):
        raise ConfigError(f"DATABASE_URL {_redact(raw)!r} names no database. "
                          "Expected e.g. postgres://user:pass@host:5432/name")
    return config


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def bool_from_env(name: str, default: bool) -> bool:
    """A strict boolean: a typo is an error, not a silent False."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def int_from_env(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
    return value


def time_from_env(name: str, default: str) -> tuple[int, int]:
    """A time of day "HH:MM" (24-hour) as (hour, minute)."""
    raw = (os.environ.get(name) or default).strip()
    hour, _, minute = raw.partition(":")
    if hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
        return int(hour), int(minute)
    raise ConfigError(f"{name} must be a time of day like 07:30, not {raw!r}.")


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
