"""The Celery pages of the admin (beat schedules, task results), replacing the packages' own ModelAdmins.

The packages' admins let anyone with the model permissions name any task, give it any arguments and run it at
once ("Run selected tasks"): a task acts with the worker's rights, so that would be a way round every role check
and the audit trail. Here only superusers add, delete, run or re-point tasks. RevOps admins see every schedule
and may switch the product's own schedules on or off and change when they run; nothing else. Syncs are
scheduled on the mapping's page (its cadence), which keeps its periodic task.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from django_celery_results import admin as results_admin
from django_celery_results.models import GroupResult, TaskResult

from integration_hub.schedules import DAILY_SCHEDULES, DEFAULT_SCHEDULES
from mapping.models import ObjectMapping
from reconciliation.duplicates.schedules import SCHEDULES as DUPLICATE_SCHEDULES
from reconciliation.health.schedules import HEALTH_SCHEDULES

# What a RevOps admin may change on one of the product's own schedules: whether and when it runs.
TIMING_FIELDS = ("enabled", "interval", "crontab", "start_time")


def product_schedules() -> Q:
    """The hub's own schedules: each mapping's sync, and the schedules the apps create (by name and task)."""
    own = Q(pk__in=ObjectMapping.objects.filter(periodic_task__isnull=False).values("periodic_task"))
    for table in (DEFAULT_SCHEDULES, DAILY_SCHEDULES, HEALTH_SCHEDULES, DUPLICATE_SCHEDULES):
        for name, spec in table.items():
            own |= Q(name=name, task=spec[0])
    return own


class SuperuserWritesOnly:
    """Adding, changing and deleting are for superusers; everyone else with the view permission reads."""

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class TimingForm(forms.ModelForm):
    """The periodic task form for RevOps admins: timing only (no task name, arguments or routing)."""

    class Meta:
        model = PeriodicTask
        fields = TIMING_FIELDS


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    def _is_product_schedule(self, obj) -> bool:
        return obj is not None and PeriodicTask.objects.filter(product_schedules(), pk=obj.pk).exists()

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        return request.user.is_superuser or obj is None or self._is_product_schedule(obj)

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        # "regtask" is a form-only field choosing any registered task: not shown to RevOps at all.
        return [(name, {**options, "fields": [f for f in options["fields"] if f != "regtask"]})
                for name, options in super().get_fieldsets(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        shown = [f for _, options in self.get_fieldsets(request, obj) for f in options["fields"]]
        return [f for f in shown if f not in TIMING_FIELDS]

    def get_form(self, request, obj=None, **kwargs):
        if not request.user.is_superuser:
            kwargs["form"] = TimingForm
        return super().get_form(request, obj, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("run_tasks", None)  # runs whatever task and arguments a row names, at once
        return actions

    def _only_product_schedules(self, request, queryset):
        if request.user.is_superuser:
            return queryset
        kept = queryset.filter(product_schedules())
        if skipped := queryset.count() - kept.count():
            self.message_user(request, f"{skipped} selected task(s) left as they were: only the hub's own "
                                       f"schedules can be switched on or off by RevOps admins.", messages.WARNING)
        return kept

    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, self._only_product_schedules(request, queryset))

    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, self._only_product_schedules(request, queryset))

    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, self._only_product_schedules(request, queryset))

    enable_tasks.short_description = beat_admin.PeriodicTaskAdmin.enable_tasks.short_description
    disable_tasks.short_description = beat_admin.PeriodicTaskAdmin.disable_tasks.short_description
    toggle_tasks.short_description = beat_admin.PeriodicTaskAdmin.toggle_tasks.short_description


class IntervalScheduleAdmin(SuperuserWritesOnly, beat_admin.IntervalScheduleAdmin):
    pass


class CrontabScheduleAdmin(SuperuserWritesOnly, beat_admin.CrontabScheduleAdmin):
    pass


class SolarScheduleAdmin(SuperuserWritesOnly, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(SuperuserWritesOnly, beat_admin.ClockedScheduleAdmin):
    pass


class TaskResultAdmin(SuperuserWritesOnly, results_admin.TaskResultAdmin):
    pass


class GroupResultAdmin(SuperuserWritesOnly, results_admin.GroupResultAdmin):
    pass


ADMINS = {
    PeriodicTask: PeriodicTaskAdmin,
    IntervalSchedule: IntervalScheduleAdmin,
    CrontabSchedule: CrontabScheduleAdmin,
    SolarSchedule: SolarScheduleAdmin,
    ClockedSchedule: ClockedScheduleAdmin,
    TaskResult: TaskResultAdmin,
    GroupResult: GroupResultAdmin,
}


def replace_celery_admins(site: admin.AdminSite) -> None:
    """Swap the packages' registrations (made when the admin modules were discovered) for the ones above."""
    for model, model_admin in ADMINS.items():
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
