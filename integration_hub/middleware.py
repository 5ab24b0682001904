"""Request middleware: hostile input refused, sign-in required everywhere but the open paths, a request id."""
from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.shortcuts import render

from integration_hub import json_guard

# DRF authenticates its own requests (session or token) and answers 401/403 itself;
# webhooks are verified by signature; static files and the liveness probe are public.
OPEN_PREFIXES = ("/api/", "/webhooks/", "/static/", "/healthz")


# Where a refusal is answered in JSON rather than as a page.
MACHINE_PREFIXES = ("/api/", "/webhooks/")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse(request, reason: str):
    """A 400 that says why, in JSON for the API and webhooks, as a page for people."""
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse({"detail": reason}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)


def bad_request(request, exception):
    """handler400: a view's BadRequest carries a sentence for the user; other 400s (suspicious requests) do
    not show their message, which is for the log."""
    if type(exception) is BadRequest:
        return refuse(request, str(exception))
    return refuse(request, "The hub could not read this request.")


class HostileInputMiddleware:
    """Refuse, before any view sees them, query strings and forms no field could store: a NUL character in a
    name or value (PostgreSQL cannot store one), JSON typed into a field nested too deep, a form over
    DATA_UPLOAD_MAX_MEMORY_SIZE or with too many fields. Views that read request.POST directly are covered too.
    JSON bodies are the parsers' and the webhook intake's job (integration_hub.json_guard)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            json_guard.check_form(request.GET, what="query parameter")
            if request.method == "POST" and request.content_type in FORM_TYPES:
                json_guard.check_form(request.POST)
        except json_guard.JSONRefused as exc:
            return refuse(request, str(exc))
        except RequestDataTooBig:
            limit = json_guard.describe_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            return refuse(request, f"The form is larger than {limit}, the most the hub accepts.")
        except TooManyFieldsSent:
            return refuse(request, f"The form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
        return self.get_response(request)


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's LoginRequiredMiddleware, leaving the API, webhooks and static files alone."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(OPEN_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class AuditContextMiddleware:
    """Give each request a correlation id that its history rows share."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = re.sub(r"[^A-Za-z0-9_.-]", "", request.headers.get("X-Request-ID", ""))[:64]
        request.correlation_id = supplied or uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.correlation_id
        return response
