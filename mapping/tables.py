import django_tables2 as tables

from integration_hub.kernel.tables import BaseTable
from mapping.models import ObjectMapping


class MappingTable(BaseTable):
    entity_type = tables.Column(linkify=True, verbose_name="Entity")
    published_version = tables.Column(verbose_name="Published", accessor="published_version__number",
                                      default="none yet")

    def render_published_version(self, value):
        return f"v{value}"

    class Meta(BaseTable.Meta):
        model = ObjectMapping
        fields = ("entity_type", "crm_object", "erp_object", "crm_system", "erp_system", "cadence", "is_enabled",
                  "published_version")
