"""Request middleware: hostile input refused, sign-in required everywhere but the open paths, a request id."""
from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from integration_hub.kernel import json_guard

# DRF authenticates its own requests (session or token) and answers 401/403 itself;
# webhooks are verified by signature; static files and the liveness probe are public.
OPEN_PREFIXES = ("/api/", "/webhooks/", "/static/", "/healthz")


# Where a refusal is answered in JSON rather than as a page.
MACHINE_PREFIXES = ("/api/", "/webhooks/")
API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPE = "application/json"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def refuse(request, reason: str, status: int = 400):
    """A 4xx that says why, in JSON for the API and webhooks, as a page for people."""
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse({"detail": reason}, status=status)
    return render(request, "400.html", {"reason": reason}, status=status)


def bad_request(request, exception):
    """handler400: a view's BadRequest carries a sentence for the user; other 400s (suspicious requests) do
    not show their message, which is for the log."""
    if type(exception) is BadRequest:
        return refuse(request, str(exception))
    return refuse(request, "The hub could not read this request.")


class HostileInputMiddleware:
    """Refuse, before any view sees them, query strings, forms and API bodies the hub cannot take: a NUL
    character in a name or value (PostgreSQL cannot store one), JSON nested too deep, a body over the size limit,
    bytes that are not UTF-8 (integration_hub.kernel.json_guard says why, in a 400).

    Views that read request.POST directly are covered, and so are API actions that ignore their body: a body the
    guard refuses is refused whatever the view does with it. The API's JSON is parsed here once; DRF's parser
    takes the result (json_guard.GuardedJSONParser). Webhooks check their own body, after their signature."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            json_guard.check_form(request.GET, what="query parameter")
            if request.method == "POST" and request.content_type in FORM_TYPES:
                json_guard.check_form(request.POST)
                if request.content_type == FORM_TYPES[0]:
                    json_guard.check_urlencoded(request.body, charset=request.encoding)
            elif request.path.startswith(API_PREFIX) and request.method in BODY_METHODS:
                json_guard.check_content_length(request.META)
                body = request.body
                if body and request.content_type == JSON_TYPE:
                    request.guarded_json = json_guard.loads(body)
                elif body and request.content_type not in FORM_TYPES:
                    return refuse(request, "The API reads JSON: send the body as application/json.", status=415)
        except json_guard.JSONRefused as exc:
            return refuse(request, str(exc))
        except RequestDataTooBig:
            limit = json_guard.describe_size(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            return refuse(request, f"The form is larger than {limit}, the most the hub accepts.")
        except MultiPartParserError as exc:
            return refuse(request, f"The form could not be read: {exc}.")
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
