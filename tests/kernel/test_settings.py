"""Configuration mistakes get a sentence naming the variable; production passes check --deploy."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    dropped = ("DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG")
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "integration_hub.settings_production",
    "SECRET_KEY": "x7!" + "k3Jq9Lp2Vz8Rt5Wm1Yb4Nc6Hd0Gf" * 3,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://hub:hub@db.internal:5432/hub",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "hub.example.com",
}


def test_a_malformed_database_url_names_the_variable_without_a_traceback():
    result = manage("check", DATABASE_URL="not a url at all")
    assert result.returncode == 2
    assert "Configuration error: DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_url_with_an_unknown_scheme_is_refused():
    result = manage("check", DATABASE_URL="mongo://localhost/hub")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode == 2
    assert "SECRET_KEY must be set in production" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_missing_encryption_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = manage("check", **env)
    assert "FIELD_ENCRYPTION_KEY must be set in production" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_debug_value_is_named(value):
    result = manage("check", DEBUG=value)
    assert result.returncode == 2
    assert "DEBUG" in result.stderr and "Traceback" not in result.stderr
