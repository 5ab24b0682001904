"""Makes the hub's admin site (RevOps admins only) Django's default admin site."""
from django.contrib.admin.apps import AdminConfig


class HubAdminConfig(AdminConfig):
    default_site = "integration_hub.admin_site.HubAdminSite"

    def ready(self):
        super().ready()  # discovers every app's admin module, django-celery-beat's and -results' included
        # The admin's models can be imported only once the app registry is ready.
        from django.contrib import admin

        from integration_hub.admin_schedules import replace_celery_admins

        replace_celery_admins(admin.site)
