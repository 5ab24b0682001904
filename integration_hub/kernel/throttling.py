"""Throttling of guessed credentials: failed API tokens per client address, and the sign-in lockout page.

Failed sign-ins are counted by django-axes (settings: AXES_*); this module gives it the client's address and
the page it answers with. Failed API tokens are counted here, in the cache every process shares.
"""
from __future__ import annotations

import ipaddress
import math
import time

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost
    one saw (each proxy appends the address it was called from to X-Forwarded-For; earlier entries are the
    caller's to invent). None when there is no valid one (a sign-in made in code, a malformed header): the
    sign-in log stores addresses as IP addresses."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return _address(forwarded[-proxies])
    return _address(request.META.get("REMOTE_ADDR", ""))


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def login_locked_out(request, original_response=None, credentials=None):
    """The sign-in page again, saying the username is locked out from this address and for how long (429)."""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    response = render(request, "registration/login.html", {
        "form": form, "next": request.POST.get("next", request.GET.get("next", "")),
        "locked_out": f"Too many failed sign-ins for this username from your address: signing in is blocked "
                      f"for {_minutes(minutes * 60)}. Wait, or ask a RevOps admin to unlock it in the admin "
                      f"(Axes: access attempts).",
    }, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(minutes * 60)
    return response


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF token authentication that counts failed tokens per client address.

    After API_AUTH_FAILURE_LIMIT failures within API_AUTH_FAILURE_WINDOW_SECONDS, every token from that address
    is refused with 429 and Retry-After until the window ends, so a token cannot be guessed by trying many."""

    def authenticate(self, request):
        offered = get_authorization_header(request).split()
        if not offered or offered[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: nothing to count
        key = f"api-auth-failures:{client_ip(request)}"
        window = settings.API_AUTH_FAILURE_WINDOW_SECONDS
        if (cache.get(key) or 0) >= settings.API_AUTH_FAILURE_LIMIT:
            started = cache.get(f"{key}:since") or time.time()
            wait = max(1, math.ceil(started + window - time.time()))
            raise exceptions.Throttled(wait=wait, detail=(
                f"Too many failed API tokens from your address; try again in {_minutes(wait)}."))
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            if cache.add(key, 0, window):
                cache.set(f"{key}:since", time.time(), window)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr: this failure starts a new window
                cache.set(key, 1, window)
                cache.set(f"{key}:since", time.time(), window)
            raise
