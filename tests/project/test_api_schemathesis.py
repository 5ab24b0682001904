"""Schemathesis against the API's own OpenAPI document (/api/schema/), in process through the WSGI app: for every
write operation, bodies that fit the schema and bodies that do not (wrong types, missing and extra fields, out of
range values), sent as a superuser on real objects. No body may be a server error; a refused one says why."""
from __future__ import annotations

import traceback

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.urls import resolve
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.project.test_hostile_input import _model_of, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
EXAMPLES = 20  # per operation and mode (fits and does not fit the schema), derandomized: the same every run


@pytest.fixture
def wsgi_app():
    """Django's WSGI app called in this thread, in the test's transaction: like Django's test client, requests do
    not close the connection when they end (it would close the test's transaction on PostgreSQL)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(world, superuser, settings, wsgi_app):  # noqa: F811
    # A decision reads both systems (at a closed port here): once, not with a sync's retries and backoff.
    settings.SYNC_CONNECTOR_OPTIONS = {**settings.SYNC_CONNECTOR_OPTIONS, "timeout": 2, "max_attempts": 1}
    token = Token.objects.create(user=superuser)
    headers = {"Authorization": f"Token {token.key}"}
    loaded = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=headers)
    loaded.config.update(headers=headers)
    loaded.config.generation.update(modes=list(schemathesis.GenerationMode), max_examples=EXAMPLES)
    # The schema's examples and fuzzing; its "coverage" phase (every boundary of every property, ~4,000 requests
    # here, over a minute) is left to a manual run: test_hostile_input.py sends each property a wrong type.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema").include(method=["POST", "PUT", "PATCH"])


def _on_real_objects(case, world) -> None:  # noqa: F811
    """Point the operation's path parameters at objects that exist, so the body is what gets judged."""
    if not case.path_parameters:
        return
    sample = case.operation.path.format(**{name: "1" for name in case.path_parameters})
    target = world.get(_model_of(resolve(sample).func))
    if target is not None:
        case.path_parameters = {name: getattr(target, "slug", None) if name == "slug" else target.pk
                                for name in case.path_parameters}


@pytest.fixture
def server_errors():
    """The tracebacks of server errors, for the failure message."""
    caught: list[str] = []

    def keep(sender, request=None, **kwargs):
        caught.append(traceback.format_exc())

    signals.got_request_exception.connect(keep, weak=False)
    yield caught
    signals.got_request_exception.disconnect(keep)


@schema.parametrize()
@settings(deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_generated_body_is_a_server_error(case, world, server_errors):  # noqa: F811
    _on_real_objects(case, world)
    with transaction.atomic():  # a failed write rolls back to here, not the whole test's transaction
        response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, case.headers, case.body, server_errors[-1:])
    if 400 <= response.status_code < 500:
        assert response.text.strip(), (case.method, case.formatted_path, case.body)
