from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from agreements.models import AgreementVersion
from demo.sla import DEMO_USERS

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="sla.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_a_malformed_boolean_setting_is_named():
    result = manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_the_default_broker_writes_only_under_the_var_folder(tmp_path):
    var, elsewhere = tmp_path / "var", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    publish = "import django; django.setup(); from slaportal.celery import app; app.send_task('leads.ping')"
    subprocess.run(
        [sys.executable, "-c", publish],
        cwd=elsewhere,
        env={**env, "SLAPORTAL_VAR_DIR": str(var), "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=120,
    )
    assert list(elsewhere.iterdir()) == []  # no ./control (kombu's default) in the working folder
    assert (var / "celery" / "control" / "celery.exchange").is_file()
    assert len(list((var / "celery" / "queue").iterdir())) == 1


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "created agreement" in first
    assert "nothing changed" in second
    for spec in DEMO_USERS:
        assert spec.username in second
    version = AgreementVersion.objects.get(number=1)
    assert version.status == AgreementVersion.Status.ACTIVE
    # and the draft v2 whose simulation the demo opens with
    assert AgreementVersion.objects.get(number=2).status == AgreementVersion.Status.DRAFT
    assert version.marketing_signed_by.username == "marketing_lead"
    assert version.sales_signed_by.username == "manager"


@pytest.mark.django_db
def test_health_reports_ok_with_the_default_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["database"] is True


@pytest.mark.redis
@pytest.mark.django_db
def test_health_checks_the_real_redis_broker(client, settings):
    response = client.get(reverse("healthz"))
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_health_says_503_when_the_broker_is_down(client, monkeypatch):
    from kombu import Connection

    from slaportal import views

    # Nothing listens on port 1: the probe must fail fast and say so.
    monkeypatch.setattr(views.celery_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] is False


@pytest.mark.postgres
@pytest.mark.django_db
def test_suite_runs_on_postgresql():
    from django.db import connection

    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_admin_pages_open_for_the_admin(client, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    for name in ["team", "agreement", "agreementversion", "versionevent"]:
        assert client.get(reverse(f"admin:agreements_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:agreements_team_add")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/leads/99999999999999999999999/",
        "/agreements/99999999999999999999/v1/",
        "/agreements/1/v99999999999999999999999/",
        "/reporting/reports/99999999999999999999/csv/",
    ],
)
def test_ids_too_large_for_the_database_are_not_found(client, admin_user, url):
    client.force_login(admin_user)
    assert client.get(url).status_code == 404


def without(*names: str) -> dict[str, str]:
    """This process's environment less `names`, and less the suite's settings module (which sets DEBUG)."""
    return {k: v for k, v in os.environ.items() if k not in {*names, "DJANGO_SETTINGS_MODULE"}}


def test_production_is_the_default_and_needs_a_secret_key_and_hosts():
    env = without("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    run = [sys.executable, "manage.py", "check"]
    no_key = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert no_key.returncode != 0
    assert "Set SECRET_KEY" in no_key.stderr
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    no_hosts = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert no_hosts.returncode != 0
    assert "Set ALLOWED_HOSTS" in no_hosts.stderr


def compose_environment() -> dict[str, str]:
    """The web service's environment in docker-compose.yml, with its defaults filled in as compose does."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = {}
    for name, value in compose["x-app"]["environment"].items():
        match = re.fullmatch(r"\$\{(\w+)(?::-(.*)|:\?.*)\}", str(value))
        env[name] = (match.group(2) or "") if match else str(value)
    return env


def test_the_compose_environment_passes_the_deploy_check_without_warnings():
    env = compose_environment()
    assert env["HTTPS"] == "1"  # secure unless a trial says otherwise
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the one value compose insists on being given
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**without("DEBUG", "DATABASE_URL", "CELERY_BROKER_URL"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_image_build_step_loads_the_production_settings():
    # The Dockerfile runs collectstatic in production mode with throwaway values: they must be enough.
    dockerfile = (ROOT / "Dockerfile").read_text()
    line = next(line for line in dockerfile.splitlines() if "collectstatic" in line and "RUN" in line)
    env = dict(re.findall(r"(\w+)=(\S+)", line.split("python manage.py")[0]))
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "slaportal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
