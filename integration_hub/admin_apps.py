"""Makes the hub's admin site (RevOps admins only) Django's default admin site."""
from django.contrib.admin.apps import AdminConfig


class HubAdminConfig(AdminConfig):
    default_site = "integration_hub.admin_site.HubAdminSite"
