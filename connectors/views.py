"""Webhook endpoint: verified by the vendor's signature, never by a session."""
from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors import services
from connectors.models import ConnectedSystem

logger = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def webhook(request, slug: str) -> HttpResponse:
    system = get_object_or_404(ConnectedSystem, slug=slug, is_active=True)
    try:
        delivery = services.webhook_receive(
            system=system, method=request.method, uri=request.build_absolute_uri(),
            body=request.body, headers=dict(request.headers),
        )
    except services.WebhookRejected as exc:
        logger.warning("Rejected webhook for %s: %s", system.slug, exc)
        return JsonResponse({"error": "unauthorized", "message": str(exc)}, status=401)
    from integration_hub import tasks

    # Debounced: a burst of webhooks becomes one targeted sync a few seconds later.
    transaction.on_commit(lambda: tasks.process_webhooks.apply_async(
        (system.pk,), countdown=tasks.WEBHOOK_DEBOUNCE_SECONDS))
    return JsonResponse({"received": delivery.event_count}, status=202)
