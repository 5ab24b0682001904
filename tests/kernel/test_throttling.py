"""Guessing credentials is throttled: failed sign-ins lock a username out from one address for 15 minutes (the
sign-in page says so), failed API tokens from one address are answered 429 with Retry-After. Correct sign-ins
never count, however many."""
from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db
_addresses = itertools.count(10)


@pytest.fixture
def address():
    """An address of the documentation range for this test alone: the cache (Redis under CI) outlives a test."""
    ip = f"198.51.100.{next(_addresses) % 250}"
    yield ip
    cache.delete_many([f"api-auth-failures:{ip}", f"api-auth-failures:{ip}:since"])


def sign_in(client, username: str, password: str, ip: str = "127.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failed_sign_ins_lock_the_username_out_from_that_address(client, viewer_user):
    for _ in range(4):
        response = sign_in(client, "vera-viewer", "guess")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    for password in ("guess", "pw-vera-viewer"):  # the fifth failure locks; then even the right password is refused
        locked = sign_in(client, "vera-viewer", password)
        page = locked.content.decode()
        assert locked.status_code == 429 and locked["Retry-After"] == str(15 * 60)
        assert "Too many failed sign-ins for this username from your address" in page and "15 minutes" in page
        assert 'id="id_username"' in page and not signed_in(client)


def test_the_lock_holds_one_username_at_one_address_only(client, viewer_user, finance_user):
    for _ in range(5):
        sign_in(client, "vera-viewer", "guess")
    assert sign_in(client, "fred-finance", "pw-fred-finance").status_code == 302  # another user, same address
    client.logout()
    assert sign_in(client, "vera-viewer", "pw-vera-viewer", ip="203.0.113.8").status_code == 302  # elsewhere
    assert signed_in(client)


def test_the_admin_sign_in_is_the_same_page_and_the_same_lock(client, revops_user):
    assert client.get("/admin/login/")["Location"].startswith("/login/")
    for _ in range(5):
        sign_in(client, "rita-revops", "guess")
    assert sign_in(client, "rita-revops", "pw-rita-revops").status_code == 429


def test_correct_sign_ins_never_count_and_a_success_clears_the_failures(client, viewer_user):
    for _ in range(12):  # more than twice the limit
        assert sign_in(client, "vera-viewer", "pw-vera-viewer").status_code == 302
        client.logout()
    for _ in range(3):
        for _ in range(4):
            sign_in(client, "vera-viewer", "guess")
        assert sign_in(client, "vera-viewer", "pw-vera-viewer").status_code == 302
        client.logout()


def _api(client, token: str, ip: str, **extra):
    return client.get("/api/v1/records/", HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=ip, **extra)


def test_failed_api_tokens_from_one_address_are_answered_429_with_retry_after(client, viewer_user, address):
    good = Token.objects.create(user=viewer_user).key
    assert _api(client, good, address).status_code == 200
    for n in range(10):
        refused = _api(client, f"guess-{n}", address)
        assert refused.status_code in (401, 403) and refused.json()["detail"] == "Invalid token."
    refused = _api(client, "guess-10", address)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 15 * 60
    assert "Too many failed API tokens from your address" in refused.json()["detail"]
    assert _api(client, good, address).status_code == 429  # nothing is learnt from that address meanwhile
    assert _api(client, good, "203.0.113.9").status_code == 200  # other callers are not held up


def test_requests_without_a_token_are_not_counted(client, viewer_user, address):
    client.force_login(viewer_user)
    for _ in range(15):
        assert client.get("/api/v1/records/", REMOTE_ADDR=address).status_code == 200


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(client, viewer_user, address, settings):
    """A caller cannot shake the count off by inventing X-Forwarded-For entries: only the proxy's own counts."""
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        forwarded = f"10.0.0.{n}, {address}"
        assert _api(client, f"guess-{n}", "10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded).status_code in (401, 403)
    assert _api(client, "guess", "10.9.9.9", HTTP_X_FORWARDED_FOR=f"10.1.1.1, {address}").status_code == 429
