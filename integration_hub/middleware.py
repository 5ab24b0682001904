"""Request middleware: sign-in required everywhere but the open paths, and a request id."""
from __future__ import annotations

import re
import uuid

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired

# DRF authenticates its own requests (session or token) and answers 401/403 itself;
# webhooks are verified by signature; static files and the liveness probe are public.
OPEN_PREFIXES = ("/api/", "/webhooks/", "/static/", "/healthz")


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
