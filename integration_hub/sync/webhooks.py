"""Webhook endpoint: verified by the vendor's signature, never by a session."""
from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors import services
from connectors.models import ConnectedSystem
from integration_hub.kernel import json_guard
from integration_hub.sync import tasks

logger = logging.getLogger(__name__)

# Every unverified call gets this same answer, whatever the reason (an unknown or inactive system included),
# so the answers cannot be used to find which systems exist; the reason is logged.
UNVERIFIED = {"error": "unauthorized", "message": "signature missing, invalid or too old"}


def _refused(reason: str) -> JsonResponse:
    return JsonResponse({"error": "bad_request", "message": reason}, status=400)


@csrf_exempt
@login_not_required
@require_POST
def webhook(request, slug: str) -> HttpResponse:
    try:
        body = json_guard.read_limited(request, request.META, what="webhook body")
    except json_guard.JSONRefused as exc:
        return _refused(str(exc))
    system = ConnectedSystem.objects.filter(slug=slug, is_active=True).first()
    if system is None:
        logger.warning("Rejected webhook for %r: no active system has that slug", slug)
        return JsonResponse(UNVERIFIED, status=401)
    try:
        delivery, new = services.webhook_receive(
            system=system, method=request.method, uri=request.build_absolute_uri(),
            body=body, headers=dict(request.headers),
        )
    except services.WebhookRejected as exc:
        logger.warning("Rejected webhook for %s: %s", system.slug, exc)
        if exc.status_code == 400:
            return _refused(str(exc))
        return JsonResponse(UNVERIFIED, status=401)
    if not new:
        # A redelivery or a replay: answered as a success (the vendor stops retrying), nothing kept or queued.
        return JsonResponse({"received": 0, "message": "already received"}, status=200)

    # Debounced: a burst of webhooks becomes one targeted sync a few seconds later.
    transaction.on_commit(lambda: tasks.process_webhooks.apply_async(
        (system.pk,), countdown=tasks.WEBHOOK_DEBOUNCE_SECONDS))
    return JsonResponse({"received": delivery.event_count}, status=202)
