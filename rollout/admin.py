"""The ops console for flags and rollouts: badges, history, and advance / rollback buttons with a reason."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.errors import ServiceError
from rollout import rollouts, selectors, services
from rollout.models import Flag, FlagHistory, Incident, Rollout, RolloutTransition
from rollout.monitoring import alerts as alerts_service
from rollout.monitoring.models import Alert, AlertEvent, AlertRule, Notification, NotificationChannel


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept in the history)")


class FlagForm(forms.ModelForm):
    """The admin's flag form: validated by the same service code as the API (``flag_changes_validate``)."""

    change_reason = forms.CharField(max_length=500, help_text="Why are you changing this flag? (kept in the history)")

    class Meta:
        model = Flag
        fields = [
            "name",
            "description",
            "everyone",
            "staff",
            "superusers",
            "groups",
            "users",
            "percent",
            "active_from",
            "active_until",
            "note",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            try:
                services.flag_changes_validate(flag_form_changes(data))
            except ServiceError as exc:
                raise forms.ValidationError(exc.message) from exc
        return data


def flag_form_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The targeting change a valid flag form asks for, in the services' terms (group names, user ids)."""
    return {
        "everyone": data.get("everyone"),
        "staff": bool(data.get("staff")),
        "superusers": bool(data.get("superusers")),
        "percent": data.get("percent"),
        "active_from": data.get("active_from"),
        "active_until": data.get("active_until"),
        "note": data.get("note") or "",
        "groups": sorted(group.name for group in data.get("groups") or []),
        "users": sorted(user.pk for user in data.get("users") or []),
    }


def _badge(label: str, on: bool) -> str:
    colour = "#2e7d32" if on else "#9e9e9e"
    return format_html(
        '<span style="background:{};color:#fff;border-radius:8px;padding:1px 7px;margin-right:3px;font-size:11px">'
        "{} {}</span>",
        colour,
        label,
        "on" if on else "off",
    )


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    form = FlagForm
    action_form = ReasonActionForm
    list_display = ["name", "cohort_badges", "percent", "kill_state", "stage", "modified"]
    search_fields = ["name", "description"]
    filter_horizontal = ["groups"]
    raw_id_fields = ["users"]
    actions = ["kill_flags", "restore_flags", "start_rollouts"]
    readonly_fields = ["history_table"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Flag]:
        return super().get_queryset(request).prefetch_related("groups", "rollouts")

    @admin.display(description="cohorts")
    def cohort_badges(self, obj: Flag) -> str:
        groups = {g.name for g in obj.groups.all()}
        percent = obj.percent or 0
        parts = [
            _badge("admin", obj.staff or obj.superusers),
            _badge("beta", "beta" in groups),
            _badge("regular", percent >= 100) if percent in (0, 100) else _badge(f"regular {percent}%", True),
        ]
        if obj.everyone:
            parts.insert(0, _badge("everyone", True))
        return format_html_join("", "{}", ((p,) for p in parts))

    @admin.display(description="kill")
    def kill_state(self, obj: Flag) -> str:
        if obj.everyone is False:
            return mark_safe('<b style="color:#c62828">KILLED</b>')
        return "-"

    @admin.display(description="rollout stage")
    def stage(self, obj: Flag) -> str:
        open_rollouts = [r for r in obj.rollouts.all() if r.status in ("active", "paused", "completed")]
        if not open_rollouts:
            return "-"
        rollout = max(open_rollouts, key=lambda r: (r.created_at, r.pk))
        url = reverse("admin:rollout_rollout_change", args=[rollout.pk])
        return format_html('<a href="{}">{} ({})</a>', url, rollout.current_stage_name, rollout.status)

    @admin.display(description="history")
    def history_table(self, obj: Flag) -> str:
        rows = selectors.flag_history(obj.name, limit=30)
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>when</th><th>who</th><th>source</th><th>changed</th><th>reason</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{h.created_at:%Y-%m-%d %H:%M:%S}",
                        h.actor or "-",
                        h.source,
                        ", ".join(h.changed_fields),
                        h.reason,
                    )
                    for h in rows
                ),
            ),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Flag | None = None) -> list[str]:
        # a flag's name is its identity in code and history: set once, at creation
        return [*self.readonly_fields, "name"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Flag, form: Any, change: bool) -> None:
        """Every admin write goes through the flag services (validation + history), never ``obj.save()``."""
        data = form.cleaned_data
        common = {
            "changes": flag_form_changes(data),
            "actor": request.user,
            "source": FlagHistory.Source.ADMIN,
            "reason": data["change_reason"],
            "description": data.get("description", ""),
        }
        if change:
            flag, _ = services.flag_update(name=obj.name, **common)
        else:
            flag, _ = services.flag_create(name=data["name"], **common)
        obj.pk = flag.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Groups and users were written by the service in ``save_model``; nothing else is related."""

    def _reason(self, request: HttpRequest) -> str | None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give a reason in the box next to the action.", messages.ERROR)
            return None
        return reason

    @admin.action(description="Kill selected flags (off for everyone, targeting kept)", permissions=["change"])
    def kill_flags(self, request: HttpRequest, queryset: QuerySet[Flag]) -> None:
        reason = self._reason(request)
        if reason is None:
            return
        for flag in queryset:
            services.flag_toggle(name=flag.name, enabled=False, actor=request.user, source="admin", reason=reason)  # type: ignore[arg-type]
        self.message_user(request, f"Killed {queryset.count()} flag(s).", messages.WARNING)

    @admin.action(description="Restore selected killed flags", permissions=["change"])
    def restore_flags(self, request: HttpRequest, queryset: QuerySet[Flag]) -> None:
        reason = self._reason(request)
        if reason is None:
            return
        for flag in queryset:
            services.flag_toggle(name=flag.name, enabled=True, actor=request.user, source="admin", reason=reason)  # type: ignore[arg-type]
        self.message_user(request, f"Restored {queryset.count()} flag(s).", messages.SUCCESS)

    @admin.action(description="Start a rollout (default plan) for selected flags", permissions=["change"])
    def start_rollouts(self, request: HttpRequest, queryset: QuerySet[Flag]) -> None:
        reason = self._reason(request)
        if reason is None:
            return
        for flag in queryset:
            try:
                rollouts.rollout_start(flag_name=flag.name, actor=request.user, reason=reason, source="admin")  # type: ignore[arg-type]
            except ServiceError as exc:
                self.message_user(request, f"{flag.name}: {exc.message}", messages.ERROR)


@admin.register(FlagHistory)
class FlagHistoryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "flag_name", "actor", "source", "changes", "reason"]
    list_filter = ["source", "flag_name"]
    list_select_related = ["actor"]
    search_fields = ["flag_name", "reason"]
    readonly_fields = ["flag_name", "flag", "actor", "source", "reason", "before", "after", "created_at"]

    @admin.display(description="changed")
    def changes(self, obj: FlagHistory) -> str:
        return ", ".join(obj.changed_fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TransitionInline(admin.TabularInline):
    model = RolloutTransition
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "from_stage", "to_stage", "actor", "source", "reason", "blocked", "duration_ms"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    list_display = ["flag", "stage", "status", "guard_policy", "stage_entered_at", "created_at"]
    list_filter = ["status", "guard_policy"]
    list_select_related = ["flag"]
    change_form_template = "admin/rollout/rollout_detail.html"

    @admin.display(description="stage")
    def stage(self, obj: Rollout) -> str:
        return f"{obj.current_stage_name} ({obj.current_index + 1}/{len(obj.plan)})"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the flag list's action, the API or `manage.py rollout start`

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        custom = [
            path("<int:pk>/act/<str:action>/", self.admin_site.admin_view(self.act_view), name="rollout_rollout_act"),
        ]
        return custom + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        rollout = get_object_or_404(Rollout.objects.select_related("flag"), pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rollout of {rollout.flag.name}",
            "opts": self.model._meta,
            "rollout": rollout,
            "detail": selectors.rollout_detail(rollout),
            "stages": [
                {"index": i, "name": s["name"], "state": s["state"], "current": i == rollout.current_index}
                for i, s in enumerate(rollout.plan)
            ],
            "can_act": request.user.has_perm("rollout.change_rollout"),
            "killed": rollout.flag.killed,
            "manual_pause": _manual_pause(rollout),
            "rescore": rollouts.rollout_rescore_offer(rollout.flag.name),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        rollout = get_object_or_404(Rollout.objects.select_related("flag"), pk=pk)
        back = reverse("admin:rollout_rollout_change", args=[pk])
        if request.method != "POST" or not request.user.has_perm("rollout.change_rollout"):
            return HttpResponseRedirect(back)
        reason = (request.POST.get("reason") or "").strip()
        expected = request.POST.get("expected_stage") or None
        flag = rollout.flag.name
        actor = request.user
        calls = {
            "advance": lambda: rollouts.rollout_advance(
                flag_name=flag, actor=actor, reason=reason, expected_stage=expected, source="admin"
            ),
            "rollback": lambda: rollouts.rollout_rollback(flag_name=flag, actor=actor, reason=reason, source="admin"),
            "rollback_to": lambda: rollouts.rollout_rollback(
                flag_name=flag, actor=actor, reason=reason, to=request.POST.get("to") or None, source="admin"
            ),
            "kill": lambda: rollouts.rollout_rollback(
                flag_name=flag, actor=actor, reason=reason, everything=True, source="admin"
            ),
            "pause": lambda: rollouts.rollout_pause(flag_name=flag, actor=actor, reason=reason, source="admin"),
            "resume": lambda: rollouts.rollout_resume(flag_name=flag, actor=actor, reason=reason, source="admin"),
            "lift_kill": lambda: services.flag_kill_lift(name=flag, actor=actor, source="admin", reason=reason),
            "rescore": lambda: rollouts.rollout_rescore(flag_name=flag, actor=actor, reason=reason, source="admin"),
        }
        if action not in calls:
            self.message_user(request, f"Unknown action {action!r}.", messages.ERROR)
            return HttpResponseRedirect(back)
        try:
            outcome = calls[action]()  # type: ignore[no-untyped-call]
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, _outcome_message(outcome), messages.SUCCESS)
        return HttpResponseRedirect(back)


def _outcome_message(outcome: Any) -> str:
    if isinstance(outcome, rollouts.RescoreStarted):
        return f"Re-scoring {outcome.count} activities in recalculation job {outcome.job_id}."
    if isinstance(outcome, rollouts.TransitionOutcome):
        t = outcome.transition
        return f"{t.kind}: {t.from_stage} → {t.to_stage}"
    return "Kill lifted: the flag answers by its targeting again; the rollout stays paused until resumed."


def _manual_pause(rollout: Rollout) -> RolloutTransition | None:
    """The transition that paused this rollout because of a manual flag change (None when not so paused)."""
    if rollout.status != Rollout.Status.PAUSED:
        return None
    last = rollout.transitions.select_related("actor").filter(kind=RolloutTransition.Kind.PAUSE).first()
    return last if last is not None and last.details.get("cause") == "manual_flag_change" else None


# --- monitoring -------------------------------------------------------------------------------------------


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "target", "timeout_seconds", "max_attempts", "enabled"]
    list_filter = ["kind", "enabled"]


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "metric",
        "aggregation",
        "operator",
        "warning",
        "error",
        "critical",
        "window_minutes",
        "enabled",
        "last_evaluated_at",
    ]
    list_filter = ["enabled", "aggregation"]
    search_fields = ["name", "metric"]
    filter_horizontal = ["channels"]
    readonly_fields = ["last_evaluated_at"]


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "from_severity", "to_severity", "value", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "rule", "tags_key", "severity", "status", "value", "threshold", "opened_at", "resolved_at"]
    list_filter = ["status", "severity", "rule"]
    list_select_related = ["rule"]
    readonly_fields = [f.name for f in Alert._meta.concrete_fields]
    inlines = [AlertEventInline]
    actions = ["acknowledge", "resolve"]
    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Acknowledge selected open alerts", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        reason = request.POST.get("reason", "").strip()
        if not reason:  # an acknowledgement tells the next person who looks why nobody acts: it needs one
            message = "Type a reason to acknowledge (who is on it, or why it can wait)."
            self.message_user(request, message, messages.ERROR)
            return
        open_alerts = queryset.filter(status="open")
        if not open_alerts.exists():
            self.message_user(request, "None of the selected alerts is open.", messages.WARNING)
            return
        done = 0
        for alert in open_alerts:
            alerts_service.alert_acknowledge(alert_id=alert.pk, actor=request.user, note=reason)  # type: ignore[arg-type]
            done += 1
        self.message_user(request, f"Acknowledged {done} alert(s): {reason}")

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = 0
        for alert in queryset.exclude(status="resolved"):
            alerts_service.alert_resolve(alert_id=alert.pk, actor=request.user, note=request.POST.get("reason", ""))  # type: ignore[arg-type]
            done += 1
        self.message_user(request, f"Resolved {done} alert(s).")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["created_at", "rollout", "action", "alert", "summary"]
    list_select_related = ["rollout__flag", "alert__rule"]
    readonly_fields = ["rollout", "alert", "transition", "action", "summary", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "subject", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "channel"]
    list_select_related = ["channel"]
    readonly_fields = [f.name for f in Notification._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
