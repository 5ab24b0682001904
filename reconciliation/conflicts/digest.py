"""The daily digest of open finance conflicts, mailed to every Finance approver with an email address."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.utils import timezone

from integration_hub.kernel import roles
from mapping.models import ApproverRole
from reconciliation.conflicts.models import Conflict, ConflictStatus
from reconciliation.conflicts.selectors import sla_cutoff

LISTED = 50


def finance_digest_send(*, now=None) -> int:
    """Send the digest (nothing when no finance conflict is open); returns the number of recipients."""
    now = now or timezone.now()
    open_finance = Conflict.objects.filter(status=ConflictStatus.OPEN, approver_role=ApproverRole.FINANCE)
    total = open_finance.count()
    if not total:
        return 0
    recipients = sorted(set(get_user_model().objects.filter(
        groups__name=roles.FINANCE_APPROVER, is_active=True).exclude(email="").values_list("email", flat=True)))
    if not recipients:
        return 0
    cutoff = sla_cutoff(now)
    context = {
        "total": total, "over_sla": open_finance.filter(created_at__lt=cutoff).count(),
        "sla_hours": settings.CONFLICT_SLA_HOURS, "now": now,
        "oldest": open_finance.select_related("record").order_by("created_at", "id")[:LISTED],
        "cutoff": cutoff, "queue_url": f"{settings.HUB_URL}/conflicts/?approver_role=finance",
        "hub_url": settings.HUB_URL,
    }
    subject = f"Integration Hub: {total} finance conflict{'s' if total != 1 else ''} waiting"
    if context["over_sla"]:
        subject += f" ({context['over_sla']} over the {settings.CONFLICT_SLA_HOURS} h SLA)"
    body = render_to_string("reconciliation/digest.txt", context)
    send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients])
    return len(recipients)
