"""Write paths of the health app, shared by the pages, the API, the admin, the command and the tasks."""
from __future__ import annotations

from django.utils import timezone

from connectors.base import ConnectorError
from connectors.models import AuthStatus, ConnectedSystem
from connectors.services import connector_session, system_record_auth
from integration_hub.kernel import roles
from reconciliation.health import alerts, metrics
from reconciliation.health.models import MetricSample

SAMPLE_KEEP_DAYS = 30


def require_revops(user, *, action: str) -> None:
    if not roles.is_revops(user):
        raise PermissionError(f"Only RevOps admins can {action}.")


def health_check() -> dict:
    """The scheduled check: take the health figures, keep them for the charts, evaluate the alert rules, and
    forget samples older than a month."""
    for system in ConnectedSystem.objects.filter(is_active=True):
        system_check_auth(system=system)  # a token that expired since the last sync shows up now
    data = metrics.snapshot()
    sample = metrics.sample_record(data=data)
    result = alerts.alerts_evaluate(data=data)

    MetricSample.objects.filter(taken_at__lt=timezone.now() - timezone.timedelta(days=SAMPLE_KEEP_DAYS)).delete()
    return {"sample": sample.pk, "status": data["status"], "opened": [a.pk for a in result["opened"]],
            "resolved": [a.pk for a in result["resolved"]]}


def system_check_auth(*, system) -> bool:
    """Ask the vendor whether the credentials work; the system's auth health (and its history) changes only
    when the answer does, so a check every few minutes does not fill the history."""
    try:
        with connector_session(system, max_attempts=2, timeout=15) as connector:
            ok, message = (check := connector.check_auth()).ok, check.message
    except ConnectorError as exc:
        ok, message = False, exc.message
    system.refresh_from_db(fields=["auth_status", "auth_message"])
    if (system.auth_status == AuthStatus.OK) != ok or (not ok and system.auth_message != message[:500]):
        system_record_auth(system=system, ok=ok, message=message)
    else:
        ConnectedSystem.objects.filter(pk=system.pk).update(auth_checked_at=timezone.now())
    return ok

