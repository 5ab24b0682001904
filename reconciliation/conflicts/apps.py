from django.apps import AppConfig

from integration_hub.sync import ports


class ConflictsConfig(AppConfig):
    """The conflict queue: values the two systems disagree on, waiting for a person's decision.

    The label stays "reconciliation", the label the tables were created under, so existing databases upgrade in
    place."""

    name = "reconciliation.conflicts"
    label = "reconciliation"
    verbose_name = "Conflicts"

    def ready(self) -> None:
        # Models can be imported only once the app registry is ready.
        from integration_hub.records import extensions
        from reconciliation.conflicts import selectors
        from reconciliation.conflicts.sync_queue import ConflictQueue  # reads the models: loaded once they are

        extensions.add_timeline_source(selectors.timeline_entries)
        ports.register_conflict_queue(ConflictQueue())
