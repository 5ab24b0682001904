"""The three roles, as Django groups with permissions.

RevOps admins configure and run the hub and decide RevOps conflicts; Finance approvers read
everything and decide finance conflicts; both comment on any conflict; Viewers read. Superusers
can do anything.
"""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

REVOPS_ADMIN = "RevOps admin"
FINANCE_APPROVER = "Finance approver"
VIEWER = "Viewer"
ROLES = (REVOPS_ADMIN, FINANCE_APPROVER, VIEWER)

HUB_APPS = ("hub", "connectors", "mapping", "reconciliation", "duplicates", "health")
# RevOps reads schedules and task results in the admin and times the hub's own schedules there; adding tasks,
# their arguments and running them is for superusers (integration_hub/admin_schedules.py).
REVOPS_CELERY_CODENAMES = ("change_periodictask",)
# Extra permissions by codename on top of reading everything.
FINANCE_EXTRA_CODENAMES: tuple[str, ...] = ("decide_finance_conflict", "comment_conflict")
# Hub permissions RevOps does not get: a conflict on a finance rule is decided by finance only.
REVOPS_EXCLUDED_CODENAMES: tuple[str, ...] = ("decide_finance_conflict",)


def _role_permission_filters() -> dict[str, Q]:
    view_hub = Q(content_type__app_label__in=HUB_APPS, codename__startswith="view_")
    history_writes = Q(codename__regex=r"^(add|change|delete)_historical")
    celery_apps = ("django_celery_beat", "django_celery_results")
    revops = (
        (Q(content_type__app_label__in=HUB_APPS) & ~history_writes & ~Q(codename__in=REVOPS_EXCLUDED_CODENAMES))
        | Q(content_type__app_label__in=celery_apps, codename__startswith="view_")
        | Q(content_type__app_label="django_celery_beat", codename__in=REVOPS_CELERY_CODENAMES)
    )
    finance = view_hub | Q(content_type__app_label__in=HUB_APPS, codename__in=FINANCE_EXTRA_CODENAMES)
    return {REVOPS_ADMIN: revops, FINANCE_APPROVER: finance, VIEWER: view_hub}


def sync_roles(Group, Permission) -> None:
    """Create the groups and grant each its permissions (additive: manual grants stay)."""
    for name, permission_filter in _role_permission_filters().items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(permission_filter))


def sync_roles_after_migrate(sender, **kwargs) -> None:
    if sender.label == "hub" or sender.label in HUB_APPS:
        sync_roles(Group, Permission)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_hub_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._hub_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user_roles(user) & set(roles)))


def is_revops(user) -> bool:
    return has_role(user, REVOPS_ADMIN)
