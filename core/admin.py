"""The ops console: users, coach links and background jobs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.console import console_setup
from core.jobs import job_cancel, jobs_sweep
from core.maintenance import maintenance_set, maintenance_state
from core.models import CoachAthlete, Job, MaintenanceChange, User
from core.services import tokens_revoke

admin.site.site_header = "Stamina ops console"
admin.site.site_title = "Stamina"
console_setup(admin.site)


class CoachLinkInline(admin.TabularInline):
    model = CoachAthlete
    fk_name = "athlete"
    raw_id_fields = ["coach"]
    extra = 0
    verbose_name = "coach"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["id", "username", "email", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_superuser", "is_active", "groups"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Stamina", {"fields": ("role", "timezone")}))  # type: ignore[misc]
    inlines = [CoachLinkInline]
    actions = ["revoke_api_tokens"]

    @admin.action(description="Revoke all API tokens of the selected users (incident)", permissions=["change"])
    def revoke_api_tokens(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        user_ids = list(queryset.values_list("pk", flat=True))
        revoked = tokens_revoke(user_ids=user_ids, actor=request.user, reason="admin action")  # type: ignore[arg-type]
        self.message_user(request, f"Revoked {revoked} token(s) of {len(user_ids)} user(s).", messages.WARNING)


@admin.register(CoachAthlete)
class CoachAthleteAdmin(admin.ModelAdmin):
    list_display = ["id", "coach", "athlete", "created_at"]
    raw_id_fields = ["coach", "athlete"]
    list_select_related = ["coach", "athlete"]
    search_fields = ["coach__username", "athlete__username"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "attempts", "sends", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    raw_id_fields = ["created_by"]
    readonly_fields = [f.name for f in Job._meta.get_fields() if getattr(f, "concrete", False)]
    actions = ["cancel_jobs", "sweep_now"]
    date_hierarchy = "created_at"

    @admin.display(description="progress")
    def progress(self, obj: Job) -> str:
        if obj.progress_total:
            return f"{obj.progress_done}/{obj.progress_total} ({100 * (obj.progress_fraction or 0):.0f} %)"
        return str(obj.progress_done)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel selected unfinished jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = sum(job_cancel(job=job) for job in queryset)
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)

    @admin.action(description="Run the sweeper now (re-send lost messages)", permissions=["change"])
    def sweep_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        report = jobs_sweep()
        self.message_user(
            request, f"Re-sent {report.resent}, re-queued {report.requeued}, failed {report.failed}.", messages.INFO
        )


class MaintenanceChangeForm(forms.ModelForm):
    class Meta:
        model = MaintenanceChange
        fields = ["enabled", "reason"]
        help_texts = {"reason": "Required: shown to clients in the 503 answers and kept in this history."}


@admin.register(MaintenanceChange)
class MaintenanceChangeAdmin(admin.ModelAdmin):
    """Read-only mode switch: "Add" a change (on/off with a reason); the latest row is the current state."""

    form = MaintenanceChangeForm
    list_display = ["changed_at", "enabled", "reason", "changed_by"]
    list_select_related = ["changed_by"]
    raw_id_fields = ["changed_by"]
    readonly_fields = ["changed_by", "changed_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is append-only: switch again instead of editing

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: MaintenanceChange, form: Any, change: bool) -> None:
        actor = request.user if isinstance(request.user, User) else None
        row = maintenance_set(enabled=obj.enabled, reason=obj.reason, actor=actor)
        obj.pk = row.pk
        obj.changed_at = row.changed_at

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        state = maintenance_state()
        if state.enabled:
            self.message_user(request, f"Maintenance mode is ON ({state.source}): {state.reason}", messages.WARNING)
        else:
            self.message_user(request, "Maintenance mode is off: writes are accepted.", messages.INFO)
        return super().changelist_view(request, extra_context)
