"""The planning ops console: the library (filters, publish/archive with a reason), import runs with their
reports, plan jobs with inputs, status, timings, the score breakdown, a readable plan (each session with its
plan day), the training sessions linked to it and a score chart."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.errors import ServiceError
from planning.admin_views import WEEKDAYS, plan_grid, score_histogram
from planning.models import Movement, MovementAuditLog, MovementImportRun, PlanJob
from planning.selectors import score_distribution
from planning.services.movements import movement_archive, movement_publish


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept in the audit log)")


class AuditInline(admin.TabularInline):
    model = MovementAuditLog
    fields = ["created_at", "action", "actor", "import_run", "diff", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Movement)
class MovementAdmin(admin.ModelAdmin):
    list_display = ["name", "movement_id", "pattern", "level", "status", "equipment", "source", "updated_at"]
    list_filter = ["pattern", "status", "level", "source"]
    search_fields = ["name", "movement_id"]
    action_form = ReasonActionForm
    actions = ["publish", "archive"]
    inlines = [AuditInline]
    # Changes go through imports and the actions below, which write the audit log; the form only shows.
    readonly_fields = [f.name for f in Movement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _apply(self, request: HttpRequest, queryset: QuerySet[Movement], func: Any, verb: str) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give a reason in the box next to the action.", messages.ERROR)
            return
        done, failed = 0, []
        for movement_id in queryset.values_list("movement_id", flat=True):
            try:
                func(movement_id=movement_id, actor=request.user.get_username(), reason=reason)
                done += 1
            except ServiceError as exc:
                failed.append(f"{movement_id}: {exc.message}")
        self.message_user(request, f"{verb} {done} movement(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, "; ".join(failed), messages.ERROR)

    @admin.action(description="Publish selected movements (audit row, reason)", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Movement]) -> None:
        self._apply(request, queryset, movement_publish, "Published")

    @admin.action(description="Archive selected movements (audit row, reason)", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Movement]) -> None:
        self._apply(request, queryset, movement_archive, "Archived")


@admin.register(MovementAuditLog)
class MovementAuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "movement_key", "action", "actor", "import_run", "reason"]
    list_filter = ["action"]
    search_fields = ["movement_key", "actor", "reason"]
    list_select_related = ["import_run"]
    raw_id_fields = ["movement", "import_run"]
    readonly_fields = ["movement", "movement_key", "action", "actor", "import_run", "diff", "reason", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MovementImportRun)
class MovementImportRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "source_file", "format", "status", "created", "updated", "unchanged", "rejected"]
    list_filter = ["status", "format", "publish", "dry_run"]
    readonly_fields = [
        "source_file",
        "format",
        "publish",
        "dry_run",
        "status",
        "actor",
        "records",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "problems",
        "per_pattern",
        "unplaced",
        "started_at",
        "finished_at",
    ]
    exclude = ["report"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="problems (record index, field)")
    def problems(self, obj: MovementImportRun) -> str:
        rows = obj.report.get("problems", [])
        if not rows:
            return "none"
        return format_html(
            "<table><tr><th>record</th><th>movement</th><th>field</th><th>problem</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((p["index"], p["movement_id"], p["field"], p["message"]) for p in rows),
            ),
        )

    @admin.display(description="per pattern")
    def per_pattern(self, obj: MovementImportRun) -> str:
        rows = obj.report.get("per_pattern", {})
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td></tr>", ((k, json.dumps(v, sort_keys=True)) for k, v in rows.items())
            ),
        )

    @admin.display(description="not placed")
    def unplaced(self, obj: MovementImportRun) -> str:
        names = obj.report.get("unplaced", [])
        return f"{len(names)}: " + ", ".join(names) if names else "none"


@admin.register(PlanJob)
class PlanJobAdmin(admin.ModelAdmin):
    list_display = ["job_id", "user", "status", "score_total", "generation_ms", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["job_id", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "requested_by", "core_job"]
    readonly_fields = [
        "job_id",
        "user",
        "requested_by",
        "core_job",
        "status",
        "request_pretty",
        "error",
        "timings",
        "score_breakdown",
        "plan_link",
        "training_sessions",
        "idempotency_key",
    ]
    exclude = ["request", "result_data", "score_total", "generation_ms", "created_at", "started_at", "finished_at"]
    change_list_template = "admin/planning/planjob/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [
            path("<uuid:job_id>/plan/", self.admin_site.admin_view(self.plan_view), name="planning_planjob_plan"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        distribution = score_distribution(days=7)
        context = {"distribution": distribution, "score_chart": score_histogram(distribution), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def plan_view(self, request: HttpRequest, job_id: Any) -> HttpResponse:
        plan_job = get_object_or_404(PlanJob.objects.select_related("user"), pk=job_id)
        plan = (plan_job.result_data or {}).get("plan", {})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Plan {plan_job.pk}",
            "plan_job": plan_job,
            "plan": plan,
            "scoring": (plan_job.result_data or {}).get("scoring"),
            "rows": plan_grid(plan),
            "weekdays": WEEKDAYS,
            "request_json": json.dumps(plan_job.request, sort_keys=True),
        }
        return TemplateResponse(request, "admin/planning/plan_detail.html", context)

    @admin.display(description="request")
    def request_pretty(self, obj: PlanJob) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.request, indent=1, sort_keys=True))

    @admin.display(description="timings")
    def timings(self, obj: PlanJob) -> str:
        ms = f"{obj.generation_ms:.1f} ms" if obj.generation_ms is not None else "—"
        return (
            f"created {obj.created_at:%Y-%m-%d %H:%M:%S}, started {obj.started_at or '—'}, "
            f"finished {obj.finished_at or '—'}; generation + scoring {ms}"
        )

    @admin.display(description="score breakdown")
    def score_breakdown(self, obj: PlanJob) -> str:
        scoring = (obj.result_data or {}).get("scoring")
        if not scoring:
            return "no score (flag off, or not finished)"
        return format_html(
            "<p>total <strong>{}</strong> ({})</p><table><tr><th>factor</th><th>score</th><th>weight</th>"
            "<th>contribution</th><th>reasons</th><th>metrics</th></tr>{}</table>",
            scoring["total"],
            scoring["version"],
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (name, f["score"], f["weight"], f["contribution"], " ".join(f["reasons"]), json.dumps(f["metrics"]))
                    for name, f in scoring["factors"].items()
                ),
            ),
        )

    @admin.display(description="training sessions")
    def training_sessions(self, obj: PlanJob) -> str:
        """The athlete's sessions linked to this plan (readiness's ``TrainingSession.plan_job``)."""
        count = obj.sessions.count()
        if not count:
            return "none linked"
        url = reverse("admin:readiness_trainingsession_changelist") + f"?plan_job={obj.pk}"
        return format_html('<a href="{}">{} linked</a>', url, count)

    @admin.display(description="plan")
    def plan_link(self, obj: PlanJob) -> str:
        if not (obj.result_data or {}).get("plan"):
            return "—"
        return format_html(
            '<a href="{}">weeks × days with exercises</a>', reverse("admin:planning_planjob_plan", args=[obj.pk])
        )
