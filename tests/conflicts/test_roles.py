"""Who may decide: finance conflicts by Finance approvers, the others by RevOps admins, Viewers read only —
in the page, the API, the admin and the service alike; comments by both approver roles."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.authtoken.models import Token

from reconciliation.conflicts import services
from reconciliation.conflicts.models import BulkDecision, Conflict

pytestmark = pytest.mark.django_db

USERS = {"revops": "revops_user", "finance": "finance_user", "viewer": "viewer_user"}
ALLOWED = {("revops", "revops"), ("finance", "finance")}  # (role, the conflict's approver)


def may(role: str, kind: str, channel: str) -> bool:
    """The admin is for RevOps admins only: Finance approvers decide in the queue and the API."""
    return (role, kind) in ALLOWED and (channel != "admin" or role == "revops")


def decide(channel: str, client, user, conflict: Conflict):
    """Take the ERP value through one channel; returns the HTTP status (None for the service)."""
    body = {"choice": "erp", "comment": "checked with the customer"}
    if channel == "service":
        services.conflict_decide(conflict=conflict, user=user, **body)
        return None
    if channel == "api":
        token = Token.objects.create(user=user).key
        return client.post(f"/api/v1/conflicts/{conflict.pk}/resolve/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token}").status_code
    client.force_login(user)
    if channel == "page":
        return client.post(f"/conflicts/{conflict.pk}/", body).status_code
    return client.post("/admin/reconciliation/conflict/", {  # admin
        "action": "take_erp", "_selected_action": [conflict.pk], "confirm": "yes", "comment": body["comment"]}
    ).status_code


@pytest.mark.parametrize("channel", ["page", "api", "admin", "service"])
@pytest.mark.parametrize("kind", ["revops", "finance"])
@pytest.mark.parametrize("role", ["revops", "finance", "viewer"])
def test_who_may_decide(request, client, role, kind, channel, django_capture_on_commit_callbacks):
    allowed = may(role, kind, channel)
    data = request.getfixturevalue("live" if allowed else "rows")  # only a decision that goes through reads
    conflict = data.name if kind == "revops" else data.price_conflict
    user = request.getfixturevalue(USERS[role])

    if allowed:
        with django_capture_on_commit_callbacks(execute=True):
            status = decide(channel, client, user, conflict)
        assert status in (None, 200, 302)
        conflict.refresh_from_db()
        assert conflict.status == "resolved" and conflict.decided_by == user
        return

    if channel == "service":
        with pytest.raises(PermissionDenied):
            decide(channel, client, user, conflict)
    else:
        status = decide(channel, client, user, conflict)
        if channel == "admin" and role == "revops":  # in the admin, but the action refuses it
            assert status == 302 and not BulkDecision.objects.exists()
            page = client.get("/admin/reconciliation/conflict/").content.decode()
            assert "None of these conflicts is yours to decide: they need a Finance approver" in page
        else:
            assert status == 403
    conflict.refresh_from_db()
    assert conflict.status == "open" and conflict.decided_by is None


@pytest.mark.parametrize("channel", ["page", "api"])
@pytest.mark.parametrize("kind", ["revops", "finance"])
@pytest.mark.parametrize("role", ["revops", "finance", "viewer"])
def test_who_may_comment(request, client, rows, role, kind, channel):
    conflict = rows.name if kind == "revops" else rows.price_conflict
    user = request.getfixturevalue(USERS[role])
    if channel == "page":
        client.force_login(user)
        status = client.post(f"/conflicts/{conflict.pk}/comment/", {"text": "asking the rep"}).status_code
    else:
        token = Token.objects.create(user=user).key
        status = client.post(f"/api/v1/conflicts/{conflict.pk}/comment/", {"text": "asking the rep"},
                             content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}").status_code
    if role == "viewer":
        assert status == 403 and not conflict.comments.exists()
    else:
        assert status in (201, 302)
        assert conflict.comments.get().author == user


@pytest.mark.parametrize("role", ["revops", "finance", "viewer"])
def test_every_role_reads_the_queue_the_decision_page_and_the_api(request, client, rows, role):
    user = request.getfixturevalue(USERS[role])
    client.force_login(user)
    assert client.get("/conflicts/").status_code == 200
    for conflict, kind in ((rows.name, "revops"), (rows.price_conflict, "finance")):
        html = client.get(f"/conflicts/{conflict.pk}/").content.decode()
        assert ('id="decide"' in html) == ((role, kind) in ALLOWED)
        if (role, kind) not in ALLOWED:
            needed = "Finance approver" if kind == "finance" else "RevOps admin"
            assert f"Only a {needed} may decide this conflict" in html
        assert ('id="comment-form"' in html) == (role != "viewer")
    assert client.get("/api/v1/conflicts/").json()["count"] == 2
    assert client.get(f"/api/v1/conflicts/{rows.name.pk}/").status_code == 200


def test_a_user_without_a_role_sees_no_conflicts(client, rows, roleless_user):
    client.force_login(roleless_user)
    assert client.get("/conflicts/").status_code == 403
    assert client.get(f"/conflicts/{rows.name.pk}/").status_code == 403
    assert client.get("/api/v1/conflicts/").status_code == 403
    assert client.post(f"/api/v1/conflicts/{rows.name.pk}/resolve/", {"choice": "erp"},
                       content_type="application/json").status_code == 403


def test_superusers_may_decide_both_kinds(rows, superuser):
    assert services.can_decide(superuser, rows.name) and services.can_decide(superuser, rows.price_conflict)


def test_the_role_groups_carry_the_decide_permissions():
    from django.contrib.auth.models import Group

    from integration_hub.kernel import roles

    perms = {g.name: set(g.permissions.filter(content_type__app_label="reconciliation")
                         .values_list("codename", flat=True)) for g in Group.objects.all()}
    assert {"decide_conflict", "comment_conflict"} <= perms[roles.REVOPS_ADMIN]
    assert "decide_finance_conflict" not in perms[roles.REVOPS_ADMIN]
    assert {"decide_finance_conflict", "comment_conflict"} <= perms[roles.FINANCE_APPROVER]
    assert "decide_conflict" not in perms[roles.FINANCE_APPROVER]
    assert not any(code.startswith(("decide", "comment")) for code in perms[roles.VIEWER])
