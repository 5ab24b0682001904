"""Navigation shown on every page, filtered by what the signed-in user may open."""
from integration_hub import roles

NAV = (
    ("hub:records", "Records"),
    ("hub:systems", "Systems"),
    ("mapping:list", "Mappings"),
    ("hub:sync-runs", "Sync runs"),
    ("hub:conflicts", "Conflicts"),
    ("hub:duplicates", "Duplicates"),
    ("hub:reconciliation", "Reconciliation"),
    ("hub:health", "Health"),
)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from reconciliation.selectors import badge_count

    return {
        "nav_items": NAV,
        "conflict_badge": badge_count(user),  # open conflicts this user may decide
        "user_roles": sorted(roles.user_roles(user)) or (["Superuser"] if user.is_superuser else []),
        "can_admin": roles.is_revops(user),
    }
