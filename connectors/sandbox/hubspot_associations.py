"""HubSpot's associations in the emulator: association types and labels, links between records, the v4 API.

What HubSpot does, and this serves (developers.hubspot.com, "Associations v4" and "Associations schema"):
- Every association between two records carries one or more types, each with its inverse on the other record:
  the pair's unlabeled HUBSPOT_DEFINED type always (label null), plus "Primary" (a contact's, deal's or ticket's
  primary company: at most one per record; a contact shows it as `associatedcompanyid`) and USER_DEFINED labels
  (`GET/POST/PUT /crm/v4/associations/{from}/{to}/labels`, `DELETE .../labels/{typeId}`; labels exist between
  contacts, companies, deals and tickets; creating one makes its type and the inverse's, paired or not).
- Writes: `PUT /crm/v4/objects/{type}/{id}/associations/default/{to}/{toId}` and `batch/associate/default` (the
  unlabeled type, answered with both directions), `PUT /crm/v4/objects/{type}/{id}/associations/{to}/{toId}`
  and `batch/create` (the given types), `batch/labels/archive` (types off; the unlabeled one takes the
  association with it), `DELETE .../associations/{to}/{toId}` and `batch/archive` (the whole association), and
  `associations` on a v3 create.
- Reads: v4 `GET .../associations/{to}` and `batch/read` list each associated record once with its types
  (category, typeId, label; `toObjectId` a number); v3 `?associations=` lists one entry per type, named
  `<from>_to_<to>` (the primary one) / `<from>_to_<to>_unlabeled` where the pair has a primary, or by the
  label's name.
- A type HubSpot does not have, or one of another object pair, is refused: 400 VALIDATION_ERROR "One or more
  associations are invalid" with a `context` naming what is invalid, as HubSpot answers an association to an
  invalid record (`INVALID_OBJECT_IDS`; the `INVALID_ASSOCIATION_TYPES` key for a type is our name).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.hubspot_data import HUBSPOT_ASSOCIATIONS, OBJECT_TYPE_IDS, SINGULAR
from connectors.sandbox.server import HttpError, Request, Response, json_response, route

HUBSPOT, USER = "HUBSPOT_DEFINED", "USER_DEFINED"
CATEGORIES = (HUBSPOT, USER, "INTEGRATOR_DEFINED")
PRIMARY = "Primary"
LABELLED_OBJECTS = frozenset({"contacts", "companies", "deals", "tickets"})
COMPANIES = "companies"
OBJECT_PATH = r"/crm/v4/objects/(?P<type>[\w-]+)/(?P<id>\d+)/associations"
PAIR_PATH = r"/crm/v4/associations/(?P<type>[\w-]+)/(?P<to>[\w-]+)"


@dataclass(frozen=True)
class Kind:
    """One association type: from one object to another, with the type id the other side reads it by."""

    category: str
    type_id: int
    from_type: str
    to_type: str
    inverse: int
    label: str | None = None
    name: str | None = None  # a USER_DEFINED label's internal name

    @property
    def key(self) -> list[Any]:
        """How a link stores it: [category, typeId]."""
        return [self.category, self.type_id]

    @property
    def primary(self) -> bool:
        return self.category == HUBSPOT and self.label == PRIMARY

    def spec(self) -> dict[str, Any]:
        """AssociationSpecWithLabel."""
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


_BUILT_IN = {(HUBSPOT, type_id): Kind(HUBSPOT, type_id, a, b, inverse, label)
             for a, b, type_id, inverse, label in HUBSPOT_ASSOCIATIONS}
_BUILT_IN.update({(HUBSPOT, inverse): Kind(HUBSPOT, inverse, b, a, type_id, label)
                  for a, b, type_id, inverse, label in HUBSPOT_ASSOCIATIONS})
_WITH_PRIMARY = {(k.from_type, k.to_type) for k in _BUILT_IN.values() if k.primary}


def _upper(object_type: str) -> str:
    return SINGULAR[object_type].upper()


class HubSpotAssociations:
    """The association half of HubSpotEmulator, mixed into it: it uses the host's store, record lookups
    (`_find`, `_type`), writes (`_write`) and batch shapes (`_inputs`, `_batch`, `_standard_error`)."""

    store: Any

    # -- types -----------------------------------------------------------------------------------------

    def _kind(self, category: Any, type_id: Any) -> Kind | None:
        """The association type (category, typeId), built in or a label of this portal."""
        if not isinstance(type_id, int) or isinstance(type_id, bool):
            return None
        if category == HUBSPOT:
            return _BUILT_IN.get((HUBSPOT, type_id))
        label = self.store.table("association_labels").get(str(type_id)) if category == USER else None
        if label is None:
            return None
        return Kind(USER, type_id, label["from"], label["to"], label["inverse"], label["label"], label["name"])

    def _kinds_between(self, from_type: str, to_type: str) -> list[Kind]:
        """Every type from one object to the other, by type id (as the labels endpoint lists them)."""
        labels = (self._kind(USER, int(type_id)) for type_id in self.store.table("association_labels"))
        kinds = [k for k in [*_BUILT_IN.values(), *labels] if k and (k.from_type, k.to_type) == (from_type, to_type)]
        return sorted(kinds, key=lambda k: (k.type_id, k.category))

    @staticmethod
    def _default_kind(from_type: str, to_type: str) -> Kind:
        """The pair's unlabeled HUBSPOT_DEFINED type; refused when HubSpot does not associate these objects."""
        default = next((k for k in _BUILT_IN.values() if (k.from_type, k.to_type) == (from_type, to_type)
                        and k.label is None), None)
        if default is None:
            raise HttpError(400, "One or more associations are invalid", category="VALIDATION_ERROR",
                            context={"INVALID_ASSOCIATION_TYPES": [
                                f"{OBJECT_TYPE_IDS[from_type]} cannot be associated with {OBJECT_TYPE_IDS[to_type]}"]})
        return default

    def _inverse(self, kind: Kind) -> Kind:
        inverse = self._kind(kind.category, kind.inverse)
        assert inverse is not None, kind
        return inverse

    def _stored_kind(self, raw: Any) -> Kind | None:
        """A link's stored type: [category, typeId] (a bare number in state files from before labels)."""
        if isinstance(raw, int):
            return self._kind(HUBSPOT, raw)
        if isinstance(raw, list) and len(raw) == 2:
            return self._kind(raw[0], raw[1])
        return None

    def _requested_kinds(self, from_type: str, to_type: str | None, specs: Any) -> list[Kind]:
        """The AssociationSpecs of a request as types from `from_type` (to `to_type` when the request names it);
        an unknown type, or one of another pair, is refused."""
        if not isinstance(specs, list) or not specs:
            raise HttpError(400, "Invalid input JSON: a list of association types is required",
                            category="VALIDATION_ERROR")
        kinds, invalid = [], []
        for spec in specs:
            spec = spec if isinstance(spec, dict) else {}
            category, type_id = spec.get("associationCategory"), spec.get("associationTypeId")
            kind = self._kind(category, type_id) if category in CATEGORIES else None
            if kind is None or kind.from_type != from_type or (to_type is not None and kind.to_type != to_type):
                shown_to = OBJECT_TYPE_IDS.get(to_type or "", to_type or "?")
                invalid.append(f"{category} {type_id} is not a valid association type from "
                               f"{OBJECT_TYPE_IDS[from_type]} to {shown_to}")
            else:
                kinds.append(kind)
        if invalid:
            raise HttpError(400, "One or more associations are invalid", category="VALIDATION_ERROR",
                            context={"INVALID_ASSOCIATION_TYPES": invalid})
        return kinds

    @staticmethod
    def _invalid_objects(object_type: str, ids: Iterable[str]) -> HttpError:
        ids = list(ids)
        return HttpError(400, "One or more associations are invalid", category="VALIDATION_ERROR",
                         context={"INVALID_OBJECT_IDS": [f"{_upper(object_type)}={i} is not valid" for i in ids],
                                  "objectId": ids, "objectType": [_upper(object_type)]})

    def _require(self, object_type: str, record_id: str) -> dict[str, Any]:
        record = self._find(object_type, record_id)
        if record is None:
            raise self._invalid_objects(object_type, [record_id])
        return record

    # -- links -----------------------------------------------------------------------------------------

    def _links(self, object_type: str, record_id: str, to_type: str) -> dict[str, list[Any]]:
        """to id -> stored types, of one record towards one object."""
        return self.store.table("associations").get(f"{object_type}:{record_id}", {}).get(to_type, {})

    def _link_kinds(self, object_type: str, record_id: str, to_type: str, to_id: str) -> list[Kind]:
        kinds = (self._stored_kind(raw) for raw in self._links(object_type, record_id, to_type).get(to_id, []))
        return sorted((k for k in kinds if k is not None), key=lambda k: (k.type_id, k.category))

    def _associated(self, object_type: str, record_id: str, to_type: str) -> list[str]:
        """Ids of the `to_type` records associated with a record, in id order."""
        return sorted(self._links(object_type, record_id, to_type), key=_numeric)

    def _put_kind(self, from_type: str, from_id: str, to_type: str, to_id: str, kind: Kind) -> None:
        kinds = (self.store.table("associations").setdefault(f"{from_type}:{from_id}", {})
                 .setdefault(to_type, {}).setdefault(to_id, []))
        legacy = kind.category == HUBSPOT and kind.type_id in kinds  # a bare number: HUBSPOT_DEFINED
        if kind.key not in kinds and not legacy:
            kinds.append(kind.key)

    def _drop_kind(self, from_type: str, from_id: str, to_type: str, to_id: str, kind: Kind) -> None:
        targets = self._links(from_type, from_id, to_type)
        kinds = targets.get(to_id)
        if kinds is None:
            return
        kinds[:] = [raw for raw in kinds if raw != kind.key and not (kind.category == HUBSPOT and raw == kind.type_id)]
        if not kinds:
            del targets[to_id]

    def _associate(self, from_type: str, from_id: str, to_type: str, to_id: str,
                   kinds: Iterable[Kind] = ()) -> Kind:
        """Associate two existing records with `kinds` and the pair's unlabeled type, each with its inverse on
        the other record; a primary company replaces the record's previous one. Returns the unlabeled type."""
        default = self._default_kind(from_type, to_type)
        holders = set()
        for kind in [default, *(k for k in kinds if k != default)]:
            if kind.primary:
                holder = (from_type, from_id, to_id) if kind.from_type != COMPANIES else (to_type, to_id, from_id)
                self._drop_primaries(*holder)
                holders.add(holder[:2])
            self._put_kind(from_type, from_id, to_type, to_id, kind)
            self._put_kind(to_type, to_id, from_type, from_id, self._inverse(kind))
        for holder in holders:
            self._show_primary(*holder)
        return default

    def _dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str,
                    kinds: Iterable[Kind] | None = None) -> None:
        """Take types off an association (all of them when None; the unlabeled one takes the association)."""
        present = self._link_kinds(from_type, from_id, to_type, to_id)
        kinds = present if kinds is None else list(kinds)
        if any(k.label is None and k.category == HUBSPOT for k in kinds):
            kinds = present
        holders = set()
        for kind in kinds:
            if kind.primary:
                holders.add((from_type, from_id) if kind.from_type != COMPANIES else (to_type, to_id))
            self._drop_kind(from_type, from_id, to_type, to_id, kind)
            self._drop_kind(to_type, to_id, from_type, from_id, self._inverse(kind))
        for holder in holders:
            self._show_primary(*holder)

    def _drop_primaries(self, holder_type: str, holder_id: str, keep: str) -> None:
        """Take the primary flag off a record's companies other than `keep` (both directions)."""
        for company_id in list(self._links(holder_type, holder_id, COMPANIES)):
            if company_id == keep:
                continue
            for kind in self._link_kinds(holder_type, holder_id, COMPANIES, company_id):
                if kind.primary:
                    self._drop_kind(holder_type, holder_id, COMPANIES, company_id, kind)
                    self._drop_kind(COMPANIES, company_id, holder_type, holder_id, self._inverse(kind))

    def _primary_company(self, holder_type: str, holder_id: str) -> str | None:
        return next((company_id for company_id in self._associated(holder_type, holder_id, COMPANIES)
                     if any(k.primary for k in self._link_kinds(holder_type, holder_id, COMPANIES, company_id))),
                    None)

    def _show_primary(self, holder_type: str, holder_id: str) -> None:
        """A contact shows its primary company as `associatedcompanyid` (a property change like any other)."""
        record = self._find(holder_type, holder_id) if holder_type == "contacts" else None
        if record is not None:
            value = self._primary_company(holder_type, holder_id) or ""
            if (record["properties"].get("associatedcompanyid") or "") != value:
                self._write(holder_type, {"associatedcompanyid": value}, record)

    def _check_primary_property(self, object_type: str, values: dict[str, Any]) -> None:
        """Writing a contact's `associatedcompanyid` names its primary company, which must exist."""
        company_id = values.get("associatedcompanyid") if object_type == "contacts" else None
        if company_id and self._find(COMPANIES, str(company_id)) is None:
            raise self._invalid_objects(COMPANIES, [str(company_id)])

    def _primary_from_property(self, object_type: str, record: dict[str, Any], values: dict[str, Any]) -> None:
        """After a write: a contact's `associatedcompanyid` becomes its primary company association."""
        if object_type != "contacts" or "associatedcompanyid" not in values:
            return
        company_id = str(values["associatedcompanyid"] or "")
        primary = self._kind(HUBSPOT, 1)
        assert primary is not None
        current = self._primary_company("contacts", record["id"])
        if company_id and company_id != current and self._find(COMPANIES, company_id) is not None:
            self._associate("contacts", record["id"], COMPANIES, company_id, [primary])
        elif not company_id and current:
            self._dissociate("contacts", record["id"], COMPANIES, current, [primary])

    def _move_associations(self, object_type: str, old_id: str, new_id: str) -> None:
        """A merge: the absorbed record's associations move to the survivor (which keeps its own primary)."""
        table = self.store.table("associations")
        links = table.get(f"{object_type}:{old_id}", {})
        for to_type, targets in list(links.items()):
            for to_id in list(targets):
                kinds = self._link_kinds(object_type, old_id, to_type, to_id)
                self._dissociate(object_type, old_id, to_type, to_id)
                if any(k.primary for k in kinds) and self._primary_company(object_type, new_id):
                    kinds = [k for k in kinds if not k.primary]
                self._associate(object_type, new_id, to_type, to_id, kinds)
        table.pop(f"{object_type}:{old_id}", None)

    # -- reads ---------------------------------------------------------------------------------------------

    def _v3_associations(self, object_type: str, record_id: str, to_types: list[str]) -> dict[str, Any]:
        """The `associations` of a v3 read: per object, one {id, type} per association type."""
        out = {}
        for to_type in to_types:
            results = [{"id": to_id, "type": self._v3_name(kind)}
                       for to_id in self._associated(object_type, record_id, to_type)
                       for kind in self._link_kinds(object_type, record_id, to_type, to_id)]
            if results:
                out[to_type] = {"results": results}
        return out

    @staticmethod
    def _v3_name(kind: Kind) -> str:
        if kind.category == USER:
            return kind.name or str(kind.type_id)
        name = f"{SINGULAR[kind.from_type]}_to_{SINGULAR[kind.to_type]}"
        unlabeled = kind.label is None and (kind.from_type, kind.to_type) in _WITH_PRIMARY
        return f"{name}_unlabeled" if unlabeled else name

    def _v4_targets(self, object_type: str, record_id: str, to_type: str) -> list[dict[str, Any]]:
        """MultiAssociatedObjectWithLabel of each associated record."""
        return [{"toObjectId": _numeric(to_id), "associationTypes": [
            k.spec() for k in self._link_kinds(object_type, record_id, to_type, to_id)]}
            for to_id in self._associated(object_type, record_id, to_type)]

    @route("GET", rf"{OBJECT_PATH}/(?P<to>[\w-]+)")
    def list_associations(self, request: Request) -> Response:
        from_type, to_type = self._type(request), self._type(request, "to")
        targets = self._v4_targets(from_type, request.group("id"), to_type)
        limit = min(int(request.arg("limit", "500") or 500), 500)
        after = request.arg("after")
        start = int(after) if after and after.isdigit() else 0
        payload: dict[str, Any] = {"results": targets[start:start + limit]}
        if start + limit < len(targets):
            payload["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(200, payload)

    @route("POST", rf"{PAIR_PATH}/batch/read")
    def read_associations_batch(self, request: Request) -> Response:
        from_type, to_type = self._type(request), self._type(request, "to")
        results, missing = [], []
        for item in self._inputs(request.json()):
            from_id = str((item or {}).get("id"))
            targets = self._v4_targets(from_type, from_id, to_type)
            if targets:
                results.append({"from": {"id": from_id}, "to": targets})
            else:
                missing.append(from_id)
        errors = [self._standard_error("NO_ASSOCIATIONS_FOUND", f"No {to_type} associated", missing)] if missing else []
        return self._batch(results, errors)

    # -- writes ----------------------------------------------------------------------------------------

    def _default_results(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[dict[str, Any]]:
        """Associate by the unlabeled type; PublicDefaultAssociation of each direction."""
        default = self._associate(from_type, from_id, to_type, to_id)
        return [{"from": {"id": a}, "to": {"id": b},
                 "associationSpec": {"associationCategory": HUBSPOT, "associationTypeId": kind.type_id}}
                for a, b, kind in ((from_id, to_id, default), (to_id, from_id, self._inverse(default)))]

    @route("PUT", rf"{OBJECT_PATH}/default/(?P<to>[\w-]+)/(?P<to_id>\d+)")
    def associate_default(self, request: Request) -> Response:
        from_type, to_type = self._type(request), self._type(request, "to")
        from_id, to_id = request.group("id"), request.group("to_id")
        self._require(from_type, from_id)
        self._require(to_type, to_id)
        return self._batch(self._default_results(from_type, from_id, to_type, to_id), [])

    @route("POST", rf"{PAIR_PATH}/batch/associate/default")
    def associate_default_batch(self, request: Request) -> Response:
        from_type, to_type = self._type(request), self._type(request, "to")
        self._default_kind(from_type, to_type)
        results, errors = [], []
        for item in self._inputs(request.json()):
            from_id, to_id = str(item.get("from", {}).get("id")), str(item.get("to", {}).get("id"))
            if self._find(from_type, from_id) is None or self._find(to_type, to_id) is None:
                errors.append(self._standard_error("OBJECT_NOT_FOUND", "One of the records does not exist",
                                                   [from_id, to_id]))
                continue
            results += self._default_results(from_type, from_id, to_type, to_id)
        return self._batch(results, errors)

    def _labels_between(self, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        """LabelsBetweenObjectPair: the association's labels after a write."""
        return {"fromObjectTypeId": OBJECT_TYPE_IDS[from_type], "fromObjectId": _numeric(from_id),
                "toObjectTypeId": OBJECT_TYPE_IDS[to_type], "toObjectId": _numeric(to_id),
                "labels": [k.label for k in self._link_kinds(from_type, from_id, to_type, to_id) if k.label]}

    @route("PUT", rf"{OBJECT_PATH}/(?P<to>[\w-]+)/(?P<to_id>\d+)")
    def associate_with_types(self, request: Request) -> Response:
        """Associate two records with the given types (labels, primary) -> 201 LabelsBetweenObjectPair."""
        from_type, to_type = self._type(request), self._type(request, "to")
        from_id, to_id = request.group("id"), request.group("to_id")
        kinds = self._requested_kinds(from_type, to_type, request.json())
        self._require(from_type, from_id)
        self._require(to_type, to_id)
        self._associate(from_type, from_id, to_type, to_id, kinds)
        return json_response(201, self._labels_between(from_type, from_id, to_type, to_id))

    @route("DELETE", rf"{OBJECT_PATH}/(?P<to>[\w-]+)/(?P<to_id>\d+)")
    def remove_association(self, request: Request) -> Response:
        """Remove every type between two records -> 204."""
        from_type, to_type = self._type(request), self._type(request, "to")
        self._dissociate(from_type, request.group("id"), to_type, request.group("to_id"))
        return Response(204)

    @route("POST", rf"{PAIR_PATH}/batch/create")
    def create_associations_batch(self, request: Request) -> Response:
        """Associate pairs of records with the given types -> 201 (207 with the inputs whose records are missing)."""
        from_type, to_type = self._type(request), self._type(request, "to")
        inputs = self._inputs(request.json())
        wanted = [(item, self._requested_kinds(from_type, to_type, (item or {}).get("types"))) for item in inputs]
        results, errors = [], []
        for item, kinds in wanted:
            from_id, to_id = str(item.get("from", {}).get("id")), str(item.get("to", {}).get("id"))
            if self._find(from_type, from_id) is None or self._find(to_type, to_id) is None:
                errors.append(self._standard_error("OBJECT_NOT_FOUND", "One of the records does not exist",
                                                   [from_id, to_id]))
                continue
            self._associate(from_type, from_id, to_type, to_id, kinds)
            results.append(self._labels_between(from_type, from_id, to_type, to_id))
        return self._batch(results, errors, status=201)

    @route("POST", rf"{PAIR_PATH}/batch/labels/archive")
    def archive_labels_batch(self, request: Request) -> Response:
        """Take the given types off associations (the unlabeled one removes the association) -> 204."""
        from_type, to_type = self._type(request), self._type(request, "to")
        for item in self._inputs(request.json()):
            kinds = self._requested_kinds(from_type, to_type, (item or {}).get("types"))
            self._dissociate(from_type, str(item.get("from", {}).get("id")), to_type,
                             str(item.get("to", {}).get("id")), kinds)
        return Response(204)

    @route("POST", rf"{PAIR_PATH}/batch/archive")
    def archive_associations_batch(self, request: Request) -> Response:
        """Remove every association between each `from` record and its `to` records (both directions); 204."""
        from_type, to_type = self._type(request), self._type(request, "to")
        for item in self._inputs(request.json()):
            from_id = str((item.get("from") or {}).get("id"))
            for target in item.get("to") or []:
                self._dissociate(from_type, from_id, to_type, str((target or {}).get("id")))
        return Response(204)

    def _inline_kinds(self, object_type: str, associations: Any) -> list[tuple[str, str, list[Kind]]]:
        """The `associations` of a v3 create, checked before the record is written: (to type, to id, types)."""
        checked = []
        for association in associations or []:
            association = association if isinstance(association, dict) else {}
            to_id = str((association.get("to") or {}).get("id", ""))
            kinds = self._requested_kinds(object_type, None, association.get("types"))
            for to_type in {kind.to_type for kind in kinds}:
                if self._find(to_type, to_id) is None:
                    raise self._invalid_objects(to_type, [to_id])
                checked.append((to_type, to_id, [kind for kind in kinds if kind.to_type == to_type]))
        return checked

    # -- labels ----------------------------------------------------------------------------------------

    def _label_pair(self, request: Request) -> tuple[str, str]:
        from_type, to_type = self._type(request), self._type(request, "to")
        if from_type not in LABELLED_OBJECTS or to_type not in LABELLED_OBJECTS:
            raise HttpError(400, f"Association labels are not supported between {from_type} and {to_type}",
                            category="VALIDATION_ERROR")
        return from_type, to_type

    @route("GET", rf"{PAIR_PATH}/labels")
    def list_labels(self, request: Request) -> Response:
        """Every association type between two objects, built in and labelled."""
        from_type, to_type = self._type(request), self._type(request, "to")
        return json_response(200, {"results": [k.spec() for k in self._kinds_between(from_type, to_type)]})

    @route("POST", rf"{PAIR_PATH}/labels")
    def create_label(self, request: Request) -> Response:
        """A USER_DEFINED label: its type and the inverse's (`inverseLabel` names the other side, else the same
        label) -> 200 with both."""
        from_type, to_type = self._label_pair(request)
        body = request.json()
        body = body if isinstance(body, dict) else {}
        label, name, inverse_label = body.get("label"), body.get("name"), body.get("inverseLabel")
        if not isinstance(label, str) or not label.strip() or not isinstance(name, str) or not name.strip():
            raise HttpError(400, "Invalid input JSON: label and name are required", category="VALIDATION_ERROR")
        if any(k.name == name for k in self._kinds_between(from_type, to_type)):
            raise HttpError(409, f"An association label named {name} already exists between {from_type} and "
                                 f"{to_type}", category="OBJECT_ALREADY_EXISTS")
        labels = self.store.table("association_labels")
        forward = self.store.next_id("association_label_ids", start=1)
        symmetric = from_type == to_type and not inverse_label
        backward = forward if symmetric else self.store.next_id("association_label_ids", start=1)
        labels[str(forward)] = {"from": from_type, "to": to_type, "label": label, "name": name, "inverse": backward}
        if not symmetric:
            labels[str(backward)] = {"from": to_type, "to": from_type, "label": inverse_label or label, "name": name,
                                     "inverse": forward}
        created = [self._kind(USER, forward), *([] if symmetric else [self._kind(USER, backward)])]
        return json_response(200, {"results": [k.spec() for k in created if k is not None]})

    def _own_label(self, from_type: str, to_type: str, type_id: Any) -> Kind:
        kind = self._kind(USER, type_id)
        if kind is None or (kind.from_type, kind.to_type) != (from_type, to_type):
            raise HttpError(400, "One or more associations are invalid", category="VALIDATION_ERROR",
                            context={"INVALID_ASSOCIATION_TYPES": [
                                f"{USER} {type_id} is not a label from {OBJECT_TYPE_IDS[from_type]} to "
                                f"{OBJECT_TYPE_IDS[to_type]}"]})
        return kind

    @route("PUT", rf"{PAIR_PATH}/labels")
    def update_label(self, request: Request) -> Response:
        """Rename a label (and its inverse with `inverseLabel`) -> 204."""
        from_type, to_type = self._label_pair(request)
        body = request.json()
        body = body if isinstance(body, dict) else {}
        kind = self._own_label(from_type, to_type, body.get("associationTypeId"))
        if not isinstance(body.get("label"), str) or not body["label"].strip():
            raise HttpError(400, "Invalid input JSON: label is required", category="VALIDATION_ERROR")
        labels = self.store.table("association_labels")
        labels[str(kind.type_id)]["label"] = body["label"]
        if body.get("inverseLabel") and kind.inverse != kind.type_id:
            labels[str(kind.inverse)]["label"] = body["inverseLabel"]
        return Response(204)

    @route("DELETE", rf"{PAIR_PATH}/labels/(?P<type_id>\d+)")
    def delete_label(self, request: Request) -> Response:
        """Delete a label and its inverse; associations keep their other types -> 204."""
        from_type, to_type = self._label_pair(request)
        kind = self._own_label(from_type, to_type, int(request.group("type_id")))
        sides = ((kind.from_type, kind.to_type, kind.type_id), (kind.to_type, kind.from_type, kind.inverse))
        for key, targets in self.store.table("associations").items():
            owner_type = key.split(":", 1)[0]
            for own, other, type_id in sides:
                for kinds in targets.get(other, {}).values() if owner_type == own else ():
                    kinds[:] = [raw for raw in kinds if raw != [USER, type_id]]
        labels = self.store.table("association_labels")
        labels.pop(str(kind.type_id), None)
        labels.pop(str(kind.inverse), None)
        return Response(204)


def _numeric(record_id: str) -> int | str:
    """HubSpot's record ids are numbers where v4 prints them bare."""
    return int(record_id) if str(record_id).isdigit() else record_id
