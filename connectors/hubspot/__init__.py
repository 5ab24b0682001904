"""HubSpot CRM v3 connector: incremental search pull, batch writes, associations, merge, webhooks, counts.

One module per concern: `objects` (names, aliases, properties the connector relies on), `responses` (answers
read as records), `auth`, `reading`, `writing`, `webhooks`, `counts`, and `connector`, the class the registry
serves (importing this package registers it).
"""
from connectors.hubspot.auth import HubSpotOAuth
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.objects import HUB_ID_PROPERTY, modified_property, object_type
from connectors.hubspot.webhooks import webhook_signature

__all__ = ["HUB_ID_PROPERTY", "HubSpotConnector", "HubSpotOAuth", "modified_property", "object_type",
           "webhook_signature"]
