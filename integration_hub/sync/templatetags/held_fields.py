"""What a run's page shows of the held fields it found (the run's view belongs to the run pages)."""
from __future__ import annotations

from django import template

from integration_hub.sync.held_selectors import RunHeldSummary, run_held_summary
from integration_hub.sync.models import SyncRun

register = template.Library()


@register.simple_tag
def run_held_fields(run: SyncRun) -> RunHeldSummary:
    return run_held_summary(run)
