"""Shared fixtures: one user per role, and service markers that skip locally but fail under CI."""
from __future__ import annotations

import functools
import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from integration_hub.kernel import roles

# Test threads (the live server) must not keep PostgreSQL connections open past a test, or
# the test database cannot be dropped at the end.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0

CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "localhost", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _missing_service(marker: str) -> str | None:
    """Why the service a marker needs is not available here (None when it is)."""
    if marker == "postgres":
        if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    elif marker == "redis":
        if not settings.REDIS_URL:
            return "needs Redis: set REDIS_URL=redis://..."
        if not _reachable(settings.REDIS_URL, 6379):
            return f"Redis at REDIS_URL is not reachable ({settings.REDIS_URL})"
    elif marker == "chromium":
        if not CHROMIUM:
            return "needs Debian's chromium binary (apt-get install chromium) or CHROMIUM_PATH"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "chromium"):
        if item.get_closest_marker(marker):
            reason = _missing_service(marker)
            if reason and CI:
                pytest.fail(f"CI=true and a service test cannot run: {reason}", pytrace=False)
            if reason:
                pytest.skip(reason)


@functools.cache
def _test_redis() -> redis.Redis | None:
    return None if _missing_service("redis") else redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def fresh_vendor_budgets_and_locks(settings, tmp_path):
    """Each test starts with its vendors' budgets untouched and no mapping locked. A budget is a connected
    system's, shared by every process (files in DATA_DIR, or Redis), and a lock in Redis outlives its test; a fresh
    test database numbers its systems and mappings from 1 again, so a test would otherwise wait for the requests
    earlier tests sent to their own system 1, or find its mapping's sync "coalesced" into a killed worker's run."""
    settings.DATA_DIR = tmp_path
    if "filebased" in settings.CACHES["default"]["BACKEND"]:
        # The embedded default's cache is files in the checkout's data directory, kept between runs: the API
        # calls counted per system (connectors/usage.py) would otherwise add up across tests and sessions.
        cache.clear()
    if client := _test_redis():
        for pattern in ("hub:*budget*", "hub:lock:*"):
            for key in client.scan_iter(pattern):
                client.delete(key)


def _user(django_user_model, username: str, role: str | None = None, **extra):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def revops_user(db, django_user_model):
    return _user(django_user_model, "rita-revops", roles.REVOPS_ADMIN, is_staff=True)


@pytest.fixture
def finance_user(db, django_user_model):
    return _user(django_user_model, "fred-finance", roles.FINANCE_APPROVER)


@pytest.fixture
def viewer_user(db, django_user_model):
    return _user(django_user_model, "vera-viewer", roles.VIEWER)


@pytest.fixture
def roleless_user(db, django_user_model):
    return _user(django_user_model, "nora-norole")


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser(username="sam-super", password="pw-sam-super")


@pytest.fixture
def crm_system(db):
    from connectors.models import ConnectedSystem

    return ConnectedSystem.objects.create(
        slug="crm", name="Demo CRM", role="crm", vendor="hubspot", base_url="http://127.0.0.1:8101",
        credentials={"access_token": "pat-na1-very-secret-token"}, rollout_stage="two_way",
    )


@pytest.fixture
def erp_system(db):
    from connectors.models import ConnectedSystem

    return ConnectedSystem.objects.create(
        slug="erp", name="Demo ERP", role="erp", vendor="netsuite", base_url="http://127.0.0.1:8102",
        credentials={"token_secret": "ns-very-secret"}, rollout_stage="two_way",
    )


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture
def page(live_server):
    """A page in headless Chromium (Debian's binary, never a downloaded one) on the live server."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself are still synchronous, so Django's async guard is relaxed for browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(base_url=live_server.url)
        finally:
            browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def celery_workers(transactional_db):
    """Start real `celery worker` processes (tests/workers.py) on a private queue; all stopped afterwards."""
    from tests.workers import Workers

    workers = Workers()
    yield workers
    workers.stop_all()


@pytest.fixture
def emulators():
    """Both sandbox emulators on free localhost ports, seeded with the demo data."""
    from connectors.sandbox import start_emulator

    hubspot = start_emulator("hubspot", seed="demo")
    netsuite = start_emulator("netsuite", seed="demo")
    yield hubspot, netsuite
    hubspot.stop()
    netsuite.stop()


@pytest.fixture
def published(emulators, revops_user, finance_user):
    """The default template installed and published on two seeded sandboxes, as setup_demo does."""
    from connectors.models import ConnectedSystem
    from connectors.sandbox.netsuite import DEMO_TBA
    from mapping import services
    from mapping.models import VersionStatus

    hubspot, netsuite = emulators
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url=hubspot.url, credentials={"access_token": "sandbox-token"})
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url=netsuite.url, credentials=dict(DEMO_TBA))
    services.template_prepare_crm(crm_system=crm)
    mappings = {}
    for mapping in services.template_install(crm_system=crm, erp_system=erp, user=revops_user):
        draft = mapping.versions.get(status=VersionStatus.DRAFT)
        if draft.needs_finance_signoff:
            services.version_sign_off(version=draft, user=finance_user)
        services.version_publish(version=draft, user=revops_user)
        mapping.refresh_from_db()
        mappings[mapping.entity_type] = mapping
    return mappings
