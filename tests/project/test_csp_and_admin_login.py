"""Every page carries a Content-Security-Policy that runs scripts from the hub's own files only, and no page needs
more: none has an inline script or an event-handler attribute (Swagger UI's start-up script is a file too).
/admin/login/ answers a signed-in user at once: 403 saying they have no admin access, or the admin for those who
have it; never a redirect back to the sign-in page."""
from __future__ import annotations

import re

import pytest

from tests.project.test_hostile_input import page_routes, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_page_has_the_policy_and_no_inline_script(client, world, superuser):  # noqa: F811
    client.force_login(superuser)
    pages = [p for p in page_routes(world) if not p.startswith("/webhooks/")] + ["/api/docs/", "/api/v1/"]
    checked, failures = 0, []
    for path in pages:
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        csp = policy(response)
        html = response.content.decode()
        if csp.get("default-src") != ["'self'"] or csp.get("script-src") != ["'self'"]:
            failures.append(f"{path}: policy {response.get('Content-Security-Policy')!r}")
        if found := INLINE_SCRIPT.search(html) or EVENT_HANDLER.search(html):
            failures.append(f"{path}: inline script {found[0][:80]!r}")
    assert failures == [], "\n".join(failures)
    assert checked >= 25


def test_the_sign_in_page_and_errors_carry_the_policy_too(client):
    for path in ("/login/", "/no-such-page/"):
        csp = policy(client.get(path))
        assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]


def test_swagger_ui_starts_from_a_script_file(client, viewer_user):
    client.force_login(viewer_user)
    page = client.get("/api/docs/").content.decode()
    assert not INLINE_SCRIPT.search(page)
    start = re.search(r'<script src="([^"]*script=[^"]*)"', page)[1].replace("&amp;", "&")
    script = client.get(start)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.mark.parametrize("who", ["viewer_user", "finance_user", "roleless_user"])
def test_admin_sign_in_for_a_user_without_admin_access_is_403_not_a_loop(client, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for start in ("/admin/login/", "/admin/login/?next=/admin/", "/login/?next=/admin/login/", "/admin/"):
        response = client.get(start, follow=True)
        assert response.status_code == 403 and len(response.redirect_chain) <= 1, (start, response.redirect_chain)
        assert f"{user.username} has no admin access" in response.content.decode()


def test_admin_sign_in_for_an_admin_goes_to_the_admin(client, revops_user):
    client.force_login(revops_user)
    for start, end in (("/admin/login/", "/admin/"), ("/admin/login/?next=/admin/mapping/", "/admin/mapping/"),
                       ("/login/?next=/admin/login/", "/admin/"), ("/admin/login/?next=https://evil.test/", "/admin/")):
        response = client.get(start, follow=True)
        assert response.status_code == 200 and response.redirect_chain[-1][0] == end, (start, response.redirect_chain)


def test_admin_sign_in_for_a_visitor_is_the_hub_sign_in(client):
    response = client.get("/admin/login/", follow=True)
    assert response.status_code == 200 and response.redirect_chain == [("/login/?next=/admin/", 302)]
