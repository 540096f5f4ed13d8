"""Settings refuse bad or missing values at start-up (tested in a fresh interpreter each time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.env import env_bool, env_int

REPO = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 30 + "Zq8!x" * 5


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ENV", "ALLOWED_HOSTS", "DEBUG"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "core.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.system
def test_production_without_secret_key_refuses_to_start() -> None:
    result = _load_settings(DJANGO_ENV="production", ALLOWED_HOSTS="stamina.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.system
def test_production_with_short_secret_key_refuses_to_start() -> None:
    result = _load_settings(DJANGO_ENV="production", SECRET_KEY="short", ALLOWED_HOSTS="x.example.com")
    assert result.returncode != 0
    assert "at least 50" in result.stderr


@pytest.mark.system
def test_production_without_allowed_hosts_refuses_to_start() -> None:
    result = _load_settings(DJANGO_ENV="production", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


@pytest.mark.system
def test_production_with_secrets_starts() -> None:
    result = _load_settings(DJANGO_ENV="production", SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="x.example.com")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.system
def test_bad_boolean_is_rejected() -> None:
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.system
def test_bad_database_url_is_rejected() -> None:
    result = _load_settings(DATABASE_URL="nosuchdb://x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


@pytest.mark.system
def test_unknown_environment_name_is_rejected() -> None:
    result = _load_settings(DJANGO_ENV="staging-ish")
    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


def test_typed_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_BOOL", "Yes")
    assert env_bool("X_BOOL") is True
    monkeypatch.setenv("X_INT", "12")
    assert env_int("X_INT", 1, minimum=0) == 12
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_INT", 1)


@pytest.mark.system
def test_deploy_check_passes_under_production_settings() -> None:
    """`check --deploy --fail-level WARNING` (security settings and the OpenAPI schema's own warnings)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="x.example.com",
        DJANGO_SETTINGS_MODULE="core.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
