"""The ops console for readiness: rules editor, training sessions (read-only, with their plan link), model
outputs with phase, population versions, refit runs with progress (and a button to start one), and an athlete
page charting predicted vs reported quality."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from core.errors import ServiceError
from planning.readiness import services
from planning.readiness.admin_views import athlete_page
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun, Rule, TrainingSession
from planning.readiness.refit import refit_start


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["name", "field", "operator", "threshold", "action", "priority", "overrides_model", "enabled"]
    list_editable = ["priority", "enabled"]
    list_filter = ["enabled", "overrides_model", "action"]
    readonly_fields = ["updated_at"]

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        services.rule_save(rule=obj)

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        services.rule_delete(rule=obj)


@admin.register(TrainingSession)
class TrainingSessionAdmin(admin.ModelAdmin):
    """Read-only: sessions are written through the API's services (which check the links and update the model).
    ``?plan_job=<job_id>`` lists the sessions linked to one plan (the plan job's page links here)."""

    list_display = [
        "id",
        "athlete",
        "date",
        "sport",
        "completed",
        "deviated_from_plan",
        "session_quality",
        "predicted_quality",
        "plan_session",
    ]
    list_filter = ["completed", "deviated_from_plan", "in_model", "sport"]
    list_select_related = ["athlete"]
    raw_id_fields = ["athlete", "activity", "checkin", "plan_job"]
    search_fields = ["athlete__username"]
    date_hierarchy = "date"
    readonly_fields = [f.name for f in TrainingSession._meta.fields]

    @admin.display(description="plan session")
    def plan_session(self, obj: TrainingSession) -> str:
        # plan_job_id only: loading the plan job would read its whole plan JSON for every row
        if obj.plan_job_id is None:
            return "—"
        url = reverse("admin:planning_planjob_plan", args=[obj.plan_job_id])
        return format_html('<a href="{}">day {} of {}…</a>', url, obj.plan_day, str(obj.plan_job_id)[:8])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelOutput)
class ModelOutputAdmin(admin.ModelAdmin):
    list_display = ["user", "phase", "sessions_included", "model_version", "last_trained_at", "chart"]
    list_filter = ["phase", "model_version"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    search_fields = ["user__username"]
    readonly_fields = [f.name for f in ModelOutput._meta.fields]

    @admin.display(description="athlete page")
    def chart(self, obj: ModelOutput) -> str:
        return format_html('<a href="{}">chart</a>', reverse("admin:readiness-athlete", args=[obj.user_id]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path("athlete/<int:athlete_id>/", self.admin_site.admin_view(athlete_page), name="readiness-athlete"),
            *super().get_urls(),
        ]


@admin.register(PopulationModel)
class PopulationModelAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "status",
        "source",
        "athletes",
        "sessions",
        "loglik",
        "iterations",
        "converged",
        "activated_at",
    ]
    list_filter = ["status", "source"]
    readonly_fields = [f.name for f in PopulationModel._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RefitRun)
class RefitRunAdmin(admin.ModelAdmin):
    list_display = ["id", "scope", "athlete", "status", "progress", "version", "trigger", "created_at", "finished_at"]
    list_filter = ["status", "scope", "trigger"]
    list_select_related = ["athlete", "job"]
    raw_id_fields = ["athlete", "job", "created_by"]
    readonly_fields = [f.name for f in RefitRun._meta.fields]
    change_list_template = "admin/readiness/refitrun/change_list.html"

    @admin.display(description="progress")
    def progress(self, obj: RefitRun) -> str:
        job = obj.job
        if job is None:
            return "—"
        total = job.progress_total
        return f"{job.progress_done}/{total}" if total else str(job.progress_done)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="readiness-refit-start"),
            *super().get_urls(),
        ]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """POST with a ``reason``: queue a refit of all athletes (refused while one runs)."""
        target = reverse("admin:readiness_refitrun_changelist")
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponseRedirect(target)
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            messages.error(request, "Give a reason for the refit.")
            return HttpResponseRedirect(target)
        try:
            run = refit_start(actor=request.user, reason=reason, trigger="admin")  # type: ignore[arg-type]
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Refit run {run.pk} queued (job {run.job_id}).")
        return HttpResponseRedirect(target)
