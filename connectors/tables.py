"""The connected systems' table."""
import django_tables2 as tables

from connectors.models import ConnectedSystem
from integration_hub.kernel.tables import BadgeColumn, BaseTable


class SystemTable(BaseTable):
    name = tables.Column(linkify=True)
    auth_status = BadgeColumn(verbose_name="Auth")

    class Meta(BaseTable.Meta):
        model = ConnectedSystem
        fields = ("name", "slug", "role", "vendor", "rollout_stage", "auth_status", "auth_checked_at")
