"""What every page view shares."""
from django.contrib.auth.mixins import PermissionRequiredMixin


class RolePermissionMixin(PermissionRequiredMixin):
    """Signed-in users without the role's permission get 403, never a redirect loop."""

    raise_exception = True
