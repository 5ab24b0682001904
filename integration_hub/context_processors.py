"""Navigation shown on every page, filtered by what the signed-in user may open."""
from integration_hub.kernel import roles
from reconciliation.conflicts.selectors import badge_count

NAV = (
    ("records:list", "Records"),
    ("systems:list", "Systems"),
    ("mapping:list", "Mappings"),
    ("sync:runs", "Sync runs"),
    ("sync:held-fields", "Data quality"),
    ("conflicts:queue", "Conflicts"),
    ("duplicates:queue", "Duplicates"),
    ("reports:list", "Reconciliation"),
    ("health:dashboard", "Health"),
)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    return {
        "nav_items": NAV,
        "conflict_badge": badge_count(user),  # open conflicts this user may decide
        "user_roles": sorted(roles.user_roles(user)) or (["Superuser"] if user.is_superuser else []),
        "can_admin": roles.is_revops(user),
    }
