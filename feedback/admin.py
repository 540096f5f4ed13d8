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
from django.utils.html import format_html

from core.errors import ServiceError
from core.models import User
from feedback import services
from feedback.models import (
    AccuracyValidation,
    Category,
    Feedback,
    FeedbackChange,
    Priority,
    RoutingRule,
    Sentiment,
    Status,
    Team,
)
from feedback.selectors import filtered
from rollout.models import Flag


def _staff() -> QuerySet[User]:
    return User.objects.filter(is_active=True, is_staff=True).order_by("username")


class TriageActionForm(ActionForm):
    """Bulk actions pick from lists (an assignee among staff; values are in the action names), with a note."""

    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="— unassigned —", help_text="for 'Assign'"
    )
    note = forms.CharField(required=False, max_length=500, help_text="why (kept in the item's history)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _staff()  # type: ignore[attr-defined]


class TriageForm(forms.ModelForm):
    """The fields a triager may change on an item's page; saved through the services (history, overrides)."""

    note = forms.CharField(required=False, max_length=500, widget=forms.TextInput(attrs={"size": 60}))

    class Meta:
        model = Feedback
        fields = ["status", "priority", "category", "sentiment", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = _staff()  # type: ignore[attr-defined]


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


TRIAGE_FIELDS = ("status", "priority", "category", "sentiment", "assignee")


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    # the SLA and priority first and the message beside them: a narrow screen still shows what matters
    list_display = ["id", "sla", "priority", "message_excerpt", "type", "category", "sentiment", "status", "assignee"]
    list_display_links = ["id", "message_excerpt"]
    list_filter = ["status", "priority", "sentiment", "category", "type", FlagFilter, VariantFilter]
    list_select_related = ["assignee", "user"]
    search_fields = ["message", "topic"]
    raw_id_fields = ["user", "activity"]
    form = TriageForm
    inlines = [ChangeInline]
    action_form = TriageActionForm
    actions = ["assign"]
    date_hierarchy = "created_at"

    class Media:
        css = {"all": ["feedback/triage.css"]}

    fieldsets = [
        ("Message", {"fields": ["message_text", "type", "user", "rating", "created_at", "sla"]}),
        ("Triage (editable; every change is kept in the history below)", {"fields": [*TRIAGE_FIELDS, "note"]}),
        (
            "Why triage decided so",
            {"fields": ["sentiment_score", "priority_rule", "category_rule", "topic", "keywords", "team"]},
        ),
        ("Acknowledgement", {"fields": ["acknowledgement", "ack_due_at", "acknowledged_at"]}),
        (
            "Context",
            {
                "classes": ["collapse"],
                "fields": ["context", "activity", "overrides", "duplicate_count", "status_times"],
            },
        ),
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "assignee" and field is not None:  # a choice among staff, not a user editor
            for flag in ("can_add_related", "can_change_related", "can_delete_related", "can_view_related"):
                setattr(field.widget, flag, False)
        return field

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        editable = {*TRIAGE_FIELDS, "note"} if self.has_change_permission(request, obj) else set()
        names = [f.name for f in Feedback._meta.concrete_fields if f.name not in editable]
        return [*names, "message_text", "sla", "status_times"]

    @admin.display(description="message")
    def message_excerpt(self, obj: Feedback) -> str:
        text = " ".join(obj.message.split())
        return text if len(text) <= 110 else text[:109] + "…"

    @admin.display(description="message")
    def message_text(self, obj: Feedback) -> str:
        return obj.message

    @admin.display(description="triaged / resolved / closed")
    def status_times(self, obj: Feedback) -> str:
        return " / ".join(f"{t:%Y-%m-%d %H:%M}" if t else "—" for t in (obj.triaged_at, obj.resolved_at, obj.closed_at))

    @admin.display(description="ack SLA (24 h)")
    def sla(self, obj: Feedback) -> str:
        if obj.acknowledged_at is None and obj.ack_due_at < timezone.now() and obj.status not in ("resolved", "closed"):
            return format_html('<b style="color:#c62828">breached</b> (due {})', obj.ack_due_at.strftime("%d %b %H:%M"))
        if obj.acknowledged_at and obj.acknowledged_at > obj.ack_due_at:
            return "late"
        return "ok" if obj.acknowledged_at else format_html("pending (due {})", obj.ack_due_at.strftime("%d %b %H:%M"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Feedback, form: Any, change: bool) -> None:
        """Each changed triage field goes through its service (history row, override kept over re-triage)."""
        note = form.cleaned_data.get("note", "")
        actor = request.user
        try:
            for field in ("priority", "category", "sentiment"):
                if field in form.changed_data:
                    services.feedback_override(
                        feedback_id=obj.pk, field=field, value=form.cleaned_data[field], actor=actor, note=note
                    )
            if "assignee" in form.changed_data:
                services.feedback_assign(
                    feedback_id=obj.pk, assignee=form.cleaned_data["assignee"], actor=actor, note=note
                )
            if "status" in form.changed_data:
                services.feedback_set_status(
                    feedback_id=obj.pk, status=form.cleaned_data["status"], actor=actor, note=note
                )
        except ServiceError as exc:
            self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)

    def _each(self, request: HttpRequest, queryset: QuerySet[Feedback], func: Any, label: str) -> None:
        """Run ``func`` per item; report successes (green) only when there are some, failures in red."""
        done, failed = 0, []
        for feedback in queryset:
            try:
                func(feedback)
                done += 1
            except ServiceError as exc:
                failed.append(f"#{feedback.pk}: {exc.message}")
        if done:
            self.message_user(request, f"{label}: {done} item(s).", messages.SUCCESS)
        if failed:
            more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
            self.message_user(
                request, f"{label} failed for {len(failed)} item(s): {'; '.join(failed[:10])}{more}", messages.ERROR
            )

    @admin.action(description="Assign selected to the chosen assignee", permissions=["change"])
    def assign(self, request: HttpRequest, queryset: QuerySet[Feedback]) -> None:
        chosen = (request.POST.get("assignee") or "").strip()
        assignee = _staff().filter(pk=chosen).first() if chosen.isdigit() else None
        if chosen and assignee is None:
            self.message_user(request, "Choose the assignee from the list of staff.", messages.ERROR)
            return
        note = request.POST.get("note", "")
        self._each(
            request,
            queryset,
            lambda f: services.feedback_assign(feedback_id=f.pk, assignee=assignee, actor=request.user, note=note),
            f"Assigned to {assignee.username if assignee else 'nobody'}",
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Every value is its own action ("Set priority to critical"): a choice, never typed."""
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
        for field, choices in (
            ("priority", Priority.values),
            ("category", Category.values),
            ("sentiment", Sentiment.values),
        ):
            for value in choices:

                def override(
                    modeladmin: Any, req: HttpRequest, qs: QuerySet[Feedback], field: str = field, value: str = value
                ) -> None:
                    note = req.POST.get("note", "")
                    modeladmin._each(
                        req,
                        qs,
                        lambda f: services.feedback_override(
                            feedback_id=f.pk, field=field, value=value, actor=req.user, note=note
                        ),
                        f"{field} → {value}",
                    )

                actions[f"{field}_{value}"] = (override, f"{field}_{value}", f"Set {field} to {value}")
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
