"""Where Celery keeps task states (django-celery-results, shown in the admin), for a database that may be away.

django-celery-results retries only InterfaceError, and a worker that cannot store a task's state (its retry, its
failure) while PostgreSQL restarts dies of it ("Unrecoverable error"), leaving its sync to the stale-run sweep.
Here a lost connection is waited out with backoff (CELERY_RESULT_BACKEND_* settings); if the database is still
away after that, the state is logged and dropped: a sync's own state is on its run, never only in a task result.
"""
from __future__ import annotations

import logging

from celery.exceptions import BackendStoreError
from django.db import InterfaceError, OperationalError, connection
from django_celery_results.backends.database import DatabaseBackend

logger = logging.getLogger(__name__)


class ResilientDatabaseBackend(DatabaseBackend):
    def exception_safe_to_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, OperationalError | InterfaceError):
            connection.close()  # the next attempt connects afresh
            return True
        return super().exception_safe_to_retry(exc)

    def store_result(self, task_id, result, state, traceback=None, request=None, **kwargs):
        try:
            return super().store_result(task_id, result, state, traceback=traceback, request=request, **kwargs)
        except BackendStoreError:
            logger.error("task %s: its state %s was not stored, the database did not answer", task_id, state)
            return result
