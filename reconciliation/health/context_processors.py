"""The number of unresolved alerts, for the badge on the Health link in the navigation."""
from reconciliation.health.selectors import alerts_unresolved_count


def open_alerts(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("health.view_alert"):
        return {}
    return {"open_alerts": alerts_unresolved_count()}
