"""API permissions by role: the same group permissions that guard the pages and the admin."""
from rest_framework.permissions import BasePermission, DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Model permissions (granted through the role groups), with reads needing ``view``."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class HasPermission(BasePermission):
    """Signed in and holding ``required_perm`` (declared, so tests can read what a route needs); the service
    then checks the role for the object itself."""

    required_perm = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.required_perm))
