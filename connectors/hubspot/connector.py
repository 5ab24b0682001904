"""HubSpot CRM v3 connector: the class the registry serves, its auth, schema and merge; reading, writing,
webhooks and counts are its mixins (one module each)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from connectors.base import AuthCheck, Connector, ConnectorError, FieldInfo, RateLimit, RemoteRecord
from connectors.http import AuthStrategy, BearerToken
from connectors.hubspot.auth import HubSpotOAuth
from connectors.hubspot.counts import HubSpotCounts
from connectors.hubspot.objects import DOCUMENTS, HUB_ID_PROPERTY, LINE_ITEMS, MERGEABLE, object_type
from connectors.hubspot.reading import HubSpotReads
from connectors.hubspot.responses import parse_records, result_list
from connectors.hubspot.webhooks import HubSpotWebhooks
from connectors.hubspot.writing import HubSpotWrites
from connectors.registry import register

logger = logging.getLogger(__name__)


@register("hubspot")
class HubSpotConnector(HubSpotReads, HubSpotWrites, HubSpotWebhooks, HubSpotCounts, Connector):
    """HubSpot CRM objects over the v3/v4 REST APIs."""

    # Private apps: 100 requests per 10 s (190 on higher tiers; pass rate_limit=RateLimit(190, 10)).
    default_rate_limit = RateLimit(100, 10)
    search_ceiling = 10_000
    vendor_hosts = ("api.hubapi.com",)

    # Creates go through a batch upsert on the hub's own unique property, so a create retried after a lost
    # answer (or a worker that died after sending) updates the record it made instead of making a second one.
    create_key = (HUB_ID_PROPERTY, HUB_ID_PROPERTY)
    # A duplicate company or contact is merged by HubSpot itself; HubSpot has no inactive flag to retire others.
    merge_objects = MERGEABLE

    def __init__(self, base_url: str, credentials: Mapping[str, Any], **options: Any) -> None:
        self._property_cache: dict[str, list[str]] = {}
        super().__init__(base_url, credentials, **options)

    def build_auth(self) -> AuthStrategy:
        credentials = self.credentials
        if credentials.get("refresh_token"):
            missing = [k for k in ("client_id", "client_secret") if not credentials.get(k)]
            if missing:
                raise self.config_error(f"OAuth credentials lack {', '.join(missing)}")
            return HubSpotOAuth(self)
        if credentials.get("access_token"):
            return BearerToken(lambda: self.credentials["access_token"])
        raise self.config_error("credentials need an access_token (private app) or an OAuth refresh_token")

    # -- auth and schema -----------------------------------------------------------------------

    def check_auth(self) -> AuthCheck:
        try:
            self.http.request_json("GET", "/crm/v3/objects/companies", params={"limit": 1})
        except ConnectorError as exc:
            return AuthCheck(False, exc.message)
        return AuthCheck(True, "HubSpot accepted the credentials")

    def describe(self, object: str) -> list[FieldInfo]:
        data = self.http.request_json("GET", f"/crm/v3/properties/{object_type(object)}")
        fields = []
        for item in result_list(data, "properties"):
            try:
                fields.append(FieldInfo(name=item["name"], label=item.get("label") or item["name"],
                                        type=item.get("type") or "string", required=False,
                                        options=[str(o["value"]) for o in item.get("options") or []]))
            except (KeyError, TypeError) as exc:
                logger.warning("hubspot: skipping unreadable property definition %r: %s", item, exc)
        self._property_cache[object_type(object)] = [f.name for f in fields]
        return fields

    def property_names(self, object: str) -> list[str]:
        """All property names of the object (cached per connector instance), to ask for complete records."""
        name = object_type(object)
        if name not in self._property_cache:
            self.describe(name)
        return self._property_cache[name]

    def pseudo_fields(self, object: str) -> list[FieldInfo]:
        """Associations, and a document's lines (`line_items`), read and written as fields of the record."""
        fields = super().pseudo_fields(object)
        if object_type(object) in DOCUMENTS:
            fields.append(FieldInfo(LINE_ITEMS, "Line items", "sublist"))
        return fields

    def read_options(self, object: str, paths: Iterable[str]) -> dict[str, Any]:
        """Associations (`associations.companies.0`) and a document's lines (`line_items`) are read only when a
        path asks for them."""
        wanted = sorted({path.split(".")[1] for path in paths if path.startswith("associations.")})
        options: dict[str, Any] = {"associations": wanted} if wanted else {}
        if object_type(object) in DOCUMENTS and any(path.split(".", 1)[0] == LINE_ITEMS for path in paths):
            options[LINE_ITEMS] = True
        return options

    # -- merge and schema changes --------------------------------------------------------------

    def merge(self, object: str, survivor_id: str, absorbed_id: str) -> RemoteRecord:
        name = object_type(object)
        if name not in self.merge_objects:
            raise self.config_error(f"{name} does not support merge")
        data = self.http.request_json("POST", f"/crm/v3/objects/{name}/merge", idempotent=False,
                                      json={"primaryObjectId": str(survivor_id), "objectIdToMerge": str(absorbed_id)})
        records, errors = parse_records(name, [data])
        if errors:
            raise ConnectorError.malformed(f"hubspot merge answered with an unreadable record: {errors[0].message}")
        return records[0]

    def create_property(self, object: str, name: str, label: str, type: str, field_type: str, group_name: str,
                        *, unique: bool = False, options: list[str] | None = None,
                        description: str = "") -> FieldInfo:
        """Create a custom property (e.g. the ERP customer number, unique so upserts can match on it)."""
        body = {"name": name, "label": label, "type": type, "fieldType": field_type, "groupName": group_name,
                "hasUniqueValue": unique, "description": description,
                "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                            for i, o in enumerate(options or [])]}
        data = self.http.request_json("POST", f"/crm/v3/properties/{object_type(object)}", json=body,
                                      idempotent=False)
        self._property_cache.pop(object_type(object), None)
        return FieldInfo(data["name"], data.get("label", label), data.get("type", type), False,
                         [str(o["value"]) for o in data.get("options") or []])

