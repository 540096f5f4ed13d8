"""The triage console: filters, bulk actions that call services and keep history, a summary page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import mark_safe

from core.errors import ServiceError
from core.models import User
from feedback import services
from feedback.models import AccuracyValidation, Feedback, FeedbackChange, RoutingRule, Status, Team
from feedback.selectors import filtered
from rollout.models import Flag


class TriageActionForm(ActionForm):
    assignee = forms.CharField(required=False, max_length=150, help_text="username, for 'assign'")
    value = forms.CharField(required=False, max_length=32, help_text="new value, for overrides")
    note = forms.CharField(required=False, max_length=500)


class FlagFilter(admin.SimpleListFilter):
    title = "flag on when written"
    parameter_name = "flag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in Flag.objects.order_by("name").values_list("name", flat=True)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> QuerySet[Feedback]:
        if self.value():
            try:
                return filtered(flag=self.value()) & queryset
            except ServiceError as exc:
                raise IncorrectLookupParameters(exc.message) from exc
        return queryset


class VariantFilter(admin.SimpleListFilter):
    title = "experiment variant"
    parameter_name = "variant"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        seen: set[str] = set()
        for variants in Feedback.objects.exclude(context__variants={}).values_list("context__variants", flat=True)[
            :500
        ]:
            for experiment, variant in (variants or {}).items():
                seen.add(f"{experiment}:{variant}")
        return [(v, v) for v in sorted(seen)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> QuerySet[Feedback]:
        if self.value():
            try:
                return filtered(variant=self.value()) & queryset
            except ServiceError as exc:
                raise IncorrectLookupParameters(exc.message) from exc
        return queryset


class ChangeInline(admin.TabularInline):
    model = FeedbackChange
    extra = 0
    can_delete = False
    fields = ["created_at", "field", "before", "after", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "category", "priority", "sentiment", "status", "assignee", "created_at", "sla"]
    list_filter = ["status", "priority", "sentiment", "category", "type", FlagFilter, VariantFilter]
    list_select_related = ["assignee", "user"]
    search_fields = ["message", "topic"]
    raw_id_fields = ["user", "assignee", "activity"]
    readonly_fields = [f.name for f in Feedback._meta.concrete_fields]
    inlines = [ChangeInline]
    action_form = TriageActionForm
    actions = ["assign", "override_priority", "override_category", "override_sentiment"]
    date_hierarchy = "created_at"

    @admin.display(description="ack SLA")
    def sla(self, obj: Feedback) -> str:
        if obj.acknowledged_at is None and obj.ack_due_at < timezone.now() and obj.status not in ("resolved", "closed"):
            return mark_safe('<b style="color:#c62828">breached</b>')
        if obj.acknowledged_at and obj.acknowledged_at > obj.ack_due_at:
            return "late"
        return "ok" if obj.acknowledged_at else "pending"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _each(self, request: HttpRequest, queryset: QuerySet[Feedback], func: Any, label: str) -> None:
        done, failed = 0, []
        for feedback in queryset:
            try:
                func(feedback)
                done += 1
            except ServiceError as exc:
                failed.append(f"#{feedback.pk}: {exc.message}")
        self.message_user(request, f"{label}: {done} item(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, "; ".join(failed[:10]), messages.ERROR)

    @admin.action(description="Assign selected to the user named in 'assignee'", permissions=["change"])
    def assign(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        username = (request.POST.get("assignee") or "").strip()
        assignee = User.objects.filter(username=username).first() if username else None
        if username and assignee is None:
            self.message_user(request, f"No user named {username!r}.", messages.ERROR)
            return
        note = request.POST.get("note", "")
        self._each(
            request,
            queryset,
            lambda f: services.feedback_assign(feedback_id=f.pk, assignee=assignee, actor=request.user, note=note),
            "Assigned",
        )

    def _override(self, request: HttpRequest, queryset: QuerySet[Feedback], field: str) -> None:
        value = (request.POST.get("value") or "").strip()
        note = request.POST.get("note", "")
        self._each(
            request,
            queryset,
            lambda f: services.feedback_override(
                feedback_id=f.pk, field=field, value=value, actor=request.user, note=note
            ),
            f"{field} set to {value!r}",
        )

    @admin.action(description="Override priority with 'value'", permissions=["change"])
    def override_priority(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        self._override(request, queryset, "priority")

    @admin.action(description="Override category with 'value'", permissions=["change"])
    def override_category(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        self._override(request, queryset, "category")

    @admin.action(description="Override sentiment with 'value'", permissions=["change"])
    def override_sentiment(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        self._override(request, queryset, "sentiment")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            return actions
        for status in Status.values:

            def set_status(modeladmin: Any, req: HttpRequest, qs: QuerySet[Feedback], status: str = status) -> None:
                note = req.POST.get("note", "")
                modeladmin._each(
                    req,
                    qs,
                    lambda f: services.feedback_set_status(feedback_id=f.pk, status=status, actor=req.user, note=note),
                    f"Status → {status}",
                )

            actions[f"status_{status}"] = (set_status, f"status_{status}", f"Set status to {status}")
        return actions


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["members"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "team", "assignee"]
    list_select_related = ["team", "assignee"]
    raw_id_fields = ["assignee"]


@admin.register(AccuracyValidation)
class AccuracyValidationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "activity",
        "source",
        "our_method",
        "our_value",
        "external_value",
        "relative_difference",
        "within_5pct",
    ]
    list_filter = ["our_method", "source", "within_5pct"]
    list_select_related = ["activity"]
    raw_id_fields = ["user", "activity"]
    readonly_fields = [f.name for f in AccuracyValidation._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
