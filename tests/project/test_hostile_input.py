"""Hostile input over every write route: each API route that takes a body (walked from the URLconf and the DRF
routers) and every page a form can be posted to (the URLconf's pages and the admin's add and change forms).

Every case is sent as a superuser and as a RevOps admin, so the permission layer is not what answers. A body the
hub cannot take (over the size limit, nested 10,000 deep, a NUL character in a string or a key, bytes that are not
UTF-8, not JSON, NaN or a number too large, a list where an object is expected, a string where a number is) gets a
4xx that says why, stores nothing (every table's rows and history counted before and after) and is never a 500.
Odd values in the fields pages read (not a number, a superscript digit, a huge number) are never a 500.
The systems point at a closed port, so nothing here reaches a vendor.
"""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework.views import APIView

from reconciliation.conflicts.derive import conflict_open

pytestmark = pytest.mark.django_db

CLOSED_PORT_URL = "http://127.0.0.1:9"
DEPTH = 10_000
NOT_COUNTED = {"sessions", "axes"}  # sign-ins of the test's own users


# --- the world: one object of each kind a write route names ---------------------------------------------------

@pytest.fixture
def world(superuser, revops_user, finance_user):
    from connectors.models import ConnectedSystem
    from integration_hub.records import services
    from integration_hub.records.models import RecordLink
    from integration_hub.sync.models import HeldField, OutboundChange, SyncEvent, SyncRun
    from mapping.models import FieldRule, ObjectMapping, RuleSetVersion, VersionStatus
    from reconciliation.conflicts.models import BulkDecision
    from reconciliation.duplicates.models import DuplicateCandidate, DuplicatePair, Merge
    from reconciliation.health.models import Alert, AlertRule
    from reconciliation.reports.models import ReconciliationReport

    now = timezone.now()
    crm = ConnectedSystem.objects.create(slug="crm", name="HubSpot", role="crm", vendor="hubspot",
                                         base_url=CLOSED_PORT_URL, credentials={"access_token": "secret"})
    erp = ConnectedSystem.objects.create(slug="erp", name="NetSuite", role="erp", vendor="netsuite",
                                         base_url=CLOSED_PORT_URL, credentials={"token_secret": "secret"})
    mapping = ObjectMapping.objects.create(entity_type="account", crm_system=crm, erp_system=erp,
                                           crm_object="companies", erp_object="customer", match_keys=["name"])
    published = RuleSetVersion.objects.create(mapping=mapping, number=1)
    FieldRule.objects.create(version=published, field="name", crm_path="name", erp_path="companyName",
                             system_of_record="shared", conflict_policy="manual_review")
    RuleSetVersion.objects.filter(pk=published.pk).update(status=VersionStatus.PUBLISHED, published_at=now)
    mapping.published_version = published
    mapping.save()
    draft = RuleSetVersion.objects.create(mapping=mapping, number=2)
    rule = FieldRule.objects.create(version=draft, field="name", crm_path="name", erp_path="companyName",
                                    system_of_record="shared", conflict_policy="manual_review")
    acme = services.record_create(entity_type="account", values={"name": "Acme"})
    acme_too = services.record_create(entity_type="account", values={"name": "ACME Inc"})
    absorbed = services.record_create(entity_type="account", values={"name": "Acme Ltd"})
    RecordLink.objects.create(record=acme, system=crm, entity_type="account", external_id="101")
    RecordLink.objects.create(record=acme, system=erp, entity_type="account", external_id="C-1")
    run = SyncRun.objects.create(mapping=mapping, trigger="manual", status="succeeded", rule_version=published)
    SyncEvent.objects.create(run=run, record=acme, side="crm", external_id="101", kind="failed", message="held")
    held = HeldField.objects.create(mapping=mapping, side="crm", system=crm, external_id="101", record=acme,
                                    field="phone", value="555", reason="'555' is not a phone number", run=run,
                                    first_seen_at=now, last_seen_at=now)
    conflict = conflict_open(
        record=acme, mapping=mapping, rule_version=published, field="name", base_value="Acme", crm_value="Acme 1",
        erp_value="Acme 2", crm_updated_at=now, erp_updated_at=now, policy="manual_review", approver_role="revops",
        reason="both changed", entity_type="account", account=acme)
    bulk = BulkDecision.objects.create(created_by=revops_user, choice="erp", cutoff=now, conflict_ids=[conflict.pk],
                                       status="done")
    candidate = DuplicateCandidate.objects.create(entity_type="account", score=0.9,
                                                  fingerprint=f"{acme.pk},{acme_too.pk}")
    candidate.records.set([acme, acme_too])
    DuplicatePair.objects.create(candidate=candidate, left=acme, right=acme_too, score=0.9, evidence=[])
    merge = Merge.objects.create(entity_type="account", survivor=acme, undo_until=now + timedelta(days=1),
                                 merged_by=revops_user)
    merge.absorbed.set([absorbed])
    report = ReconciliationReport.objects.create(mapping=mapping, rule_version=published, entity_type="account",
                                                 status="done")
    alert = Alert.objects.create(rule=AlertRule.objects.create(name="deep outbox", metric="outbox_depth",
                                                               threshold=1000),
                                 subject="hub", message="The outbox is deep")
    dead = OutboundChange.objects.create(run=run, record=acme, system=erp, side="erp", vendor_object="customer",
                                         values={"name": "Acme"}, payload={"companyName": "Acme"}, attempts=1,
                                         idempotency_key="hostile", status="dead", last_error="netsuite HTTP 400: no")
    objects = [crm, mapping, published, rule, acme, run, held, dead, conflict, bulk, candidate, merge, report, alert]
    return {type(obj): obj for obj in objects}


def snapshot() -> dict[str, int]:
    """Rows of every table the hub writes (history tables included): equal before and after = nothing stored,
    changed or deleted (a change to an audited row adds a history row)."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()
            if model._meta.app_label not in NOT_COUNTED and not model._meta.proxy}


def changed(before: dict, after: dict) -> dict:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


# --- the routes, walked from the URLconf ----------------------------------------------------------------------

def _walk(patterns=None, prefix: str = ""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and "format" not in pattern.pattern.regex.groupindex:
            yield prefix + str(pattern.pattern), pattern


def _model_of(callback, action: str | None = None):
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    queryset = getattr(cls, "queryset", None)
    if queryset is not None:
        return queryset.model
    serializer = getattr(cls, "serializer_class", None)
    if serializer is not None and hasattr(getattr(serializer, "Meta", None), "model"):
        return serializer.Meta.model
    return getattr(cls, "model", None)


def _fill(route: str, values: dict) -> str | None:
    missing = []

    def value(match):
        if match[1] not in values:
            missing.append(match[1])
        return str(values.get(match[1], ""))

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", value, route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", value, path).replace("^", "").replace("$", "")
    return None if missing else "/" + path


def api_write_routes(world) -> list[tuple[str, str, bool]]:
    """(path, method, whether the schema gives it a request body) for every API route that takes one."""
    routes = []
    for route, pattern in _walk():
        cls = getattr(pattern.callback, "cls", None)
        if not route.startswith("api/") or cls is None or not issubclass(cls, APIView):
            continue
        actions = getattr(pattern.callback, "actions", None)
        methods = [m for m in ("post", "put", "patch", "delete")
                   if (m in actions if actions is not None else hasattr(cls, m))]
        model = _model_of(pattern.callback)
        obj = world.get(model)
        path = _fill(route, {"pk": obj.pk, "slug": getattr(obj, "slug", "")} if obj is not None else {})
        assert path is not None, f"no {model} in the world for {route}"
        routes += [(path, method.upper()) for method in methods]
    assert len(routes) >= 15, routes
    return routes


def page_routes(world) -> list[str]:
    """Every page of the URLconf outside the API (webhooks included), and the admin's add and change forms."""
    from mapping.models import ObjectMapping

    paths = []
    for route, pattern in _walk():
        if route.startswith(("api/", "admin/", "static/")):
            continue
        params = set(pattern.pattern.regex.groupindex)
        model = _model_of(pattern.callback)
        values = {"pk": world[model].pk} if model in world else {"pk": world[ObjectMapping].pk}
        values.update(slug="crm", mapping_pk=world[ObjectMapping].pk)
        cls = getattr(pattern.callback, "view_class", None)
        actions = [n[3:].replace("_", "-") for n in dir(cls) if n.startswith("do_")] if "action" in params else [""]
        for action in actions:
            path = _fill(route, {**values, "action": action})
            assert path is not None, route
            paths.append(path)
    for model in admin.site._registry:
        info = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        paths.append(info + "add/")
        obj = world.get(model) or model._default_manager.first()
        if obj is not None:
            paths.append(f"{info}{obj.pk}/change/")
    assert len(paths) >= 30, paths
    return sorted(set(paths))


def form_field_names() -> list[str]:
    """Every field name a template posts (the pages' forms), plus the names the admin's forms use."""
    names = set()
    for folder in [settings.BASE_DIR / "templates", *settings.BASE_DIR.glob("*/**/templates")]:
        for template in folder.rglob("*.html"):
            names |= set(re.findall(r'name="([\w-]+)"', template.read_text()))
    for model_admin in admin.site._registry.values():
        names |= {f.name for f in model_admin.model._meta.get_fields() if getattr(f, "editable", False)}
    return sorted(names - {"csrfmiddlewaretoken"})


# --- the request-body schemas, from the OpenAPI document the API publishes ------------------------------------

@pytest.fixture
def schema(client, superuser):
    client.force_login(superuser)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def request_schema(schema: dict, path: str, method: str) -> dict | None:
    for template, operations in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            operation = operations.get(method.lower(), {})
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            return _resolve(schema, body["schema"]) if body else None
    raise AssertionError(f"{method} {path} is not in the API's schema")


WRONG = {"integer": "not a number", "number": "not a number", "string": {"not": "a string"}, "boolean": "maybe",
         "array": "not a list", "object": ["not", "an", "object"]}


def wrong_types(schema: dict, body: dict) -> dict:
    """Each writable property of a request body given a value of the wrong JSON type."""
    wrong = {}
    for name, prop in body.get("properties", {}).items():
        prop = _resolve(schema, prop)
        if prop.get("readOnly"):
            continue
        kind = prop.get("type") or ("string" if "enum" in prop else None)
        if kind in WRONG:
            wrong[name] = WRONG[kind]
    return wrong


# --- the hostile bodies -----------------------------------------------------------------------------------------

def json_cases(body_schema: dict | None, schema: dict) -> dict[str, tuple[bytes, str | None]]:
    """name -> (body, the words the refusal must say, or None where any 4xx reason will do)."""
    names = [n for n, p in (body_schema or {}).get("properties", {}).items()
             if not _resolve(schema, p).get("readOnly")] or ["name", "text", "note"]
    limit = settings.API_MAX_BODY_BYTES
    cases = {
        "oversize": (json.dumps({names[0]: "x" * limit}).encode(), "larger than 1 MB"),
        "nested list": (b"[" * DEPTH + b"]" * DEPTH, "nested deeper than 32 levels"),
        "nested object": (b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, "nested deeper than 32 levels"),
        "NUL in strings": (json.dumps({n: "a\u0000b" for n in names}).encode(), "contains a NUL character"),
        "NUL in a key": (json.dumps({names[0] + "\u0000": "x", **{n: "x" for n in names[1:]}}).encode(),
                         "contains a NUL character in a key"),
        "NUL deep inside": (json.dumps({n: {"a": ["ok", {"b\u0000": 1}]} for n in names}).encode(),
                            "contains a NUL character"),
        "invalid UTF-8": (b'{"' + names[0].encode() + b'": "\xff\xfe\xfd"}', "is not valid UTF-8"),
        "not JSON": (b'{"' + names[0].encode() + b'": ', "is not valid JSON"),
        "NaN": (b'{"' + names[0].encode() + b'": NaN}', "is not valid JSON"),
        "number too large": (b'{"' + names[0].encode() + b'": 1e999}', "number too large"),
    }
    if body_schema is not None:  # the body is read: a wrong shape is refused too
        cases["a list for an object"] = (json.dumps([{n: "x" for n in names}]).encode(), None)
        cases["wrong JSON types"] = (json.dumps(wrong_types(schema, body_schema)).encode(), None)
    return cases


def _reason(response) -> str:
    try:
        return json.dumps(response.json())
    except ValueError:
        return response.content.decode(errors="replace")


@pytest.mark.parametrize("who", ["superuser", "revops_user"])
def test_every_api_write_route_refuses_hostile_bodies_with_a_reason_and_stores_nothing(
        client, world, schema, who, request):
    client.force_login(request.getfixturevalue(who))
    failures = []
    for path, method in api_write_routes(world):
        for case, (body, words) in json_cases(request_schema(schema, path, method), schema).items():
            before = snapshot()
            response = client.generic(method, path, body, content_type="application/json")
            reason = _reason(response)
            problems = []
            if not 400 <= response.status_code < 500:
                problems.append(f"answered {response.status_code}")
            elif words and words not in reason:
                problems.append(f"no {words!r} in {reason[:200]}")
            elif not re.search(r"[A-Za-z]{3}", reason):
                problems.append("no reason given")
            if diff := changed(before, snapshot()):
                problems.append(f"stored {diff}")
            if problems:
                failures.append(f"{method} {path} [{case}]: {'; '.join(problems)}")
    assert failures == [], "\n".join(failures)


def test_the_api_reads_only_json_and_forms(client, world, superuser):
    client.force_login(superuser)
    before = snapshot()
    response = client.post(f"/api/v1/duplicates/{world_key('candidate', world).pk}/dismiss/",
                           b"dismiss=please", content_type="text/plain")
    assert response.status_code == 415 and "The API reads JSON" in response.json()["detail"]
    assert changed(before, snapshot()) == {}


def world_key(name: str, world: dict):
    return next(obj for model, obj in world.items() if model.__name__.lower().endswith(name))


@pytest.mark.parametrize("who", ["superuser", "revops_user"])
def test_api_forms_are_guarded_like_json(client, world, who, request):
    """The browsable API posts forms; JSON typed into their fields goes through the same guard."""
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    cases = {"credentials": ("[" * DEPTH, "nested deeper than 32 levels"),
             "name": ("a\x00b", "contains a NUL character")}
    for field, (value, words) in cases.items():
        response = client.post("/api/v1/systems/", {"slug": "evil", "name": "Evil", "role": "crm",
                                                    "vendor": "hubspot", "base_url": CLOSED_PORT_URL, field: value})
        assert response.status_code == 400 and words in _reason(response), (field, _reason(response)[:300])
        response = client.patch(f"/api/v1/systems/{world_key('system', world).slug}/",
                                f"{field}={value}".replace("\x00", "%00").encode(),
                                content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400 and words in _reason(response), (field, _reason(response)[:300])
    assert changed(before, snapshot()) == {}


@pytest.mark.parametrize("who", ["superuser", "revops_user"])
def test_a_json_null_typed_into_an_api_form_is_refused_where_the_field_takes_none(client, world, who, request):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    mapping = world_key("objectmapping", world)
    form = "application/x-www-form-urlencoded"
    system = b"slug=x1&name=X&role=crm&vendor=hubspot&base_url=http%3A%2F%2F127.0.0.1%3A9&credentials=null"
    created = client.post("/api/v1/systems/", system, content_type=form)
    url = f"/api/v1/mappings/{mapping.pk}/"
    patched = client.patch(url, b"crm_create_trigger=null", content_type=form)
    nan = client.patch(url, b"erp_create_defaults=%7B%22a%22%3A+NaN%7D", content_type=form)
    for response, field in ((created, "credentials"), (patched, "crm_create_trigger"), (nan, "erp_create_defaults")):
        assert response.status_code == 400 and field in response.json(), _reason(response)
    assert "may not be null" in _reason(patched) and "not valid JSON" in _reason(nan)
    assert changed(before, snapshot()) == {}


# --- pages ------------------------------------------------------------------------------------------------------

def page_cases(names: list[str]) -> dict[str, tuple[bytes, str, str]]:
    """name -> (body, content type, the words the refusal must say)."""
    from urllib.parse import urlencode

    form = "application/x-www-form-urlencoded"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return {
        "NUL in every field": (urlencode({n: "a\x00b" for n in names}).encode(), form, "contains a NUL character"),
        "NUL in a field's name": (urlencode({"text\x00": "x"}).encode(), form, "contains a NUL character"),
        "JSON nested 10,000 deep": (urlencode({n: "[" * DEPTH for n in names[:5]}).encode(), form,
                                    "nested deeper than 32 levels"),
        "oversize": (urlencode({names[0]: "x" * limit}).encode(), form, "larger than 1 MB"),
        "invalid UTF-8": ("&".join(f"{n}=%FF%FE" for n in names).encode(), form, "not valid UTF-8"),
        "multipart NUL": (
            b"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\na\x00b\r\n--b--\r\n",
            "multipart/form-data; boundary=b", "contains a NUL character"),
    }


@pytest.mark.parametrize("who", ["superuser", "revops_user"])
def test_every_post_page_refuses_hostile_forms_with_a_reason_and_stores_nothing(client, world, who, request):
    user = request.getfixturevalue(who)
    names = form_field_names()
    failures = []
    for path in page_routes(world):
        for case, (body, content_type, words) in page_cases(names).items():
            client.force_login(user)
            before = snapshot()
            response = client.generic("POST", path, body, content_type=content_type)
            problems = []
            if response.status_code != 400:
                problems.append(f"answered {response.status_code}")
            elif words not in _reason(response):
                problems.append(f"no {words!r} in the answer")
            if diff := changed(before, snapshot()):
                problems.append(f"stored {diff}")
            if problems:
                failures.append(f"POST {path} [{case}]: {'; '.join(problems)}")
    assert failures == [], "\n".join(failures)


ODD_VALUES = ("not-a-number", "\u00b2", "-1", "9" * 40, "1e3", "", " 7 ", "[]")


@pytest.mark.parametrize("who", ["superuser", "revops_user"])
def test_odd_values_in_every_field_a_page_reads_are_never_a_server_error(client, world, who, request):
    user = request.getfixturevalue(who)
    names = form_field_names()
    failures = []
    client.raise_request_exception = False  # a server error is a finding, listed with the others
    for path in page_routes(world):
        if path.startswith("/admin/"):
            continue  # the admin's own forms validate their fields
        for value in ODD_VALUES:
            client.force_login(user)
            response = client.post(path, {n: value for n in names} | {"select": [value, "1"]})
            if response.status_code >= 500:
                failures.append(f"POST {path} with {value!r}: {response.status_code}")
    assert failures == [], "\n".join(failures)


# --- the findings ------------------------------------------------------------------------------------------------

def test_a_nul_in_a_conflict_comment_is_refused_and_nothing_is_stored(client, world, revops_user):
    conflict = world_key("conflict", world)
    client.force_login(revops_user)
    response = client.post(f"/conflicts/{conflict.pk}/comment/", {"text": "see \x00 here"})
    assert response.status_code == 400 and "contains a NUL character" in response.content.decode()
    assert not conflict.comments.exists()


def test_the_comment_endpoint_refuses_a_20_mb_body_before_parsing_it(client, world, viewer_user):
    conflict = world_key("conflict", world)
    client.force_login(viewer_user)
    response = client.post(f"/api/v1/conflicts/{conflict.pk}/comment/",
                           json.dumps({"text": "x" * 20_000_000}), content_type="application/json")
    assert response.status_code == 400 and "larger than 1 MB" in response.json()["detail"]
    assert not conflict.comments.exists()


@pytest.mark.parametrize("action", ["publish", "sign-off", "rollback", "preview"])
def test_a_version_that_is_not_a_number_is_400_for_who_may_act_and_403_for_who_may_not(
        client, world, revops_user, finance_user, viewer_user, action):
    mapping = world_key("objectmapping", world)
    allowed = finance_user if action == "sign-off" else revops_user
    refused = [u for u in (revops_user, finance_user, viewer_user) if u != allowed]
    for bad in ("abc", "\u00b2", "1.5", ""):
        client.force_login(allowed)
        response = client.post(f"/mappings/{mapping.pk}/{action}/", {"version": bad})
        page = response.content.decode()
        assert response.status_code == 400 and "Choose a version to" in page and "is not one" in page, page
        for user in refused:
            client.force_login(user)
            assert client.post(f"/mappings/{mapping.pk}/{action}/", {"version": bad}).status_code == 403


def test_admin_json_fields_refuse_what_postgresql_cannot_store(client, world, revops_user):
    """NaN, Infinity and huge numbers parse in Python but not in jsonb: the admin's form says so, stores nothing."""
    system = world_key("system", world)
    client.force_login(revops_user)
    before = snapshot()
    page = client.get(f"/admin/connectors/connectedsystem/{system.pk}/change/")
    assert page.status_code == 200
    form = {"slug": system.slug, "name": system.name, "role": system.role, "vendor": system.vendor,
            "base_url": system.base_url, "rollout_stage": system.rollout_stage, "rate_limit": "", "is_active": "on"}
    for credentials, words in (('{"token": NaN}', "not valid JSON"), ('{"token": 1e999}', "number too large"),
                               ('{"token": "a\\u0000b"}', "contains a NUL character")):
        response = client.post(f"/admin/connectors/connectedsystem/{system.pk}/change/",
                               {**form, "new_credentials": credentials})
        assert response.status_code == 200 and words in response.content.decode(), credentials
    assert changed(before, snapshot()) == {}


def test_the_walk_finds_the_routes_these_tests_cover(world):
    """The walk of the URLconf finds the routes these tests cover (a guard against a silently empty walk)."""
    paths = page_routes(world)
    assert any(p.startswith("/conflicts/") and p.endswith("/comment/") for p in paths)
    assert any("/publish/" in p for p in paths) and any(p.startswith("/webhooks/") for p in paths)
    assert resolve(next(p for p in paths if p.startswith("/sync-runs/") and p.endswith("/replay/"))).url_name \
        == "run-replay"
