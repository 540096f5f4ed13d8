"""The ops console for training load: activities (read-only, deletes and recalculations through services),
profiles (added through the service so activities are re-scored), settings (audited), recalculation chunks."""

from __future__ import annotations

from typing import Any

import numpy as np
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core.errors import ServiceError
from training import services
from training.admin_views import athlete_load_chart_view
from training.config import EDITABLE_FIELDS
from training.engine import HeartRateConfigError, HRProfile
from training.models import (
    Activity,
    AthleteLoadSettings,
    HeartRateProfile,
    LoadYear,
    RecalculationChunk,
    TrimpSettings,
    TrimpSettingsChange,
)
from training.recalculation import recalculation_start


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, help_text="Why (kept with the job)")


def chart_link(athlete_id: int) -> str:
    url = reverse("admin:training_athlete_load_chart", args=[athlete_id])
    return format_html('<a href="{}">chart</a>', url)


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "athlete",
        "local_date",
        "sport",
        "source",
        "trimp_display",
        "trimp_calculation_method",
        "trimp_method_reason",
        "profile_note",
        "average_hr_display",
        "trimp_error_code",
        "trimp_processed_at",
        "load_chart",
    ]
    list_filter = [
        "trimp_calculation_method",
        "trimp_method_reason",
        "hr_profile_backfilled",
        "trimp_error_code",
        "source",
        "sport",
    ]
    search_fields = ["external_id", "athlete__username", "filename"]
    list_select_related = ["athlete"]
    raw_id_fields = ["athlete", "hr_profile", "created_by"]
    date_hierarchy = "local_date"
    action_form = ReasonActionForm
    actions = ["recalculate_athletes", "dry_run_athletes"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Activity._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # activities come from files: the API or `manage.py import_activities`

    def get_urls(self) -> list[URLPattern]:
        chart = path(
            "athlete-load/<int:athlete_id>/",
            self.admin_site.admin_view(athlete_load_chart_view),
            name="training_athlete_load_chart",
        )
        return [chart, *super().get_urls()]

    @admin.display(description="TRIMP", ordering="trimp")
    def trimp_display(self, obj: Activity) -> str:
        return "—" if obj.trimp is None else f"{obj.trimp:.1f}"

    @admin.display(description="HR profile", ordering="hr_profile_backfilled")
    def profile_note(self, obj: Activity) -> str:
        if obj.hr_profile_id is None:
            return "none"
        return "first profile (backfilled)" if obj.hr_profile_backfilled else "of its day"

    @admin.display(description="avg HR (bpm)")
    def average_hr_display(self, obj: Activity) -> str:
        value = obj.display_average_hr
        return "—" if value is None else f"{value:.0f} ({obj.average_hr_source})"

    @admin.display(description="PMC")
    def load_chart(self, obj: Activity) -> str:
        return chart_link(obj.athlete_id)

    def delete_model(self, request: HttpRequest, obj: Activity) -> None:
        services.activities_delete_for_admin(activity_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        services.activities_delete_for_admin(activity_ids=list(queryset.values_list("pk", flat=True)))

    def _recalculate(self, request: HttpRequest, queryset: QuerySet[Activity], *, dry_run: bool) -> None:
        reason = request.POST.get("reason", "").strip()
        athletes = sorted(set(queryset.values_list("athlete_id", flat=True)))
        for athlete_id in athletes:
            try:
                job = recalculation_start(
                    actor=request.user,  # type: ignore[arg-type]
                    athlete_id=athlete_id,
                    dry_run=dry_run,
                    reason=reason,
                    trigger="admin",
                )
            except ServiceError as exc:
                self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)
                return
            self.message_user(request, f"Recalculation job {job.pk} queued for athlete {athlete_id}.")

    @admin.action(
        description="Recalculate the selected activities' athletes (all their activities)", permissions=["change"]
    )
    def recalculate_athletes(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        self._recalculate(request, queryset, dry_run=False)

    @admin.action(description="Dry-run a recalculation of the selected activities' athletes", permissions=["change"])
    def dry_run_athletes(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        self._recalculate(request, queryset, dry_run=True)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = HeartRateProfile
        fields = ["athlete", "effective_from", "resting_hr", "max_hr", "sex", "threshold_hr", "vt1_hr", "vt2_hr"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            try:
                HRProfile(
                    rest=data["resting_hr"],
                    max=data["max_hr"],
                    sex=data["sex"],
                    threshold=data.get("threshold_hr"),
                    vt1=data.get("vt1_hr"),
                    vt2=data.get("vt2_hr"),
                )
            except HeartRateConfigError as exc:
                raise forms.ValidationError(f"{exc.code}: {exc.message}") from exc
        return data


@admin.register(HeartRateProfile)
class HeartRateProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ["athlete", "effective_from", "resting_hr", "max_hr", "sex", "vt1_hr", "vt2_hr", "created_at"]
    list_select_related = ["athlete"]
    raw_id_fields = ["athlete"]
    search_fields = ["athlete__username"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A stored profile is history: add a newer one instead (so exactly the affected activities re-score).
        return [*ProfileForm.Meta.fields, "created_at"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: HeartRateProfile, form: Any, change: bool) -> None:
        if change:
            return
        try:
            result = services.hr_profile_create(
                actor=request.user,  # type: ignore[arg-type]
                athlete=obj.athlete,
                effective_from=obj.effective_from,
                resting_hr=obj.resting_hr,
                max_hr=obj.max_hr,
                sex=obj.sex,
                threshold_hr=obj.threshold_hr,
                vt1_hr=obj.vt1_hr,
                vt2_hr=obj.vt2_hr,
            )
        except ServiceError as exc:  # validated by the form first; a race (same date meanwhile) lands here
            self.message_user(request, f"{exc.code}: {exc.message}", messages.ERROR)
            return
        obj.pk = result.profile.pk
        if result.job is not None:
            self.message_user(request, f"Recalculation job {result.job.pk} re-scores the covered activities.")


@admin.register(LoadYear)
class LoadYearAdmin(admin.ModelAdmin):
    list_display = ["athlete", "year", "total_load", "active_days", "updated_at", "load_chart"]
    list_select_related = ["athlete"]
    raw_id_fields = ["athlete"]
    search_fields = ["athlete__username"]
    list_filter = ["year"]
    fields = ["athlete", "year", "total_load", "active_days", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="total load")
    def total_load(self, obj: LoadYear) -> str:
        return f"{np.frombuffer(obj.loads, dtype='<f8').sum():.1f}"

    @admin.display(description="days with activities")
    def active_days(self, obj: LoadYear) -> int:
        return int(np.count_nonzero(np.frombuffer(obj.counts, dtype="<u2")))

    @admin.display(description="PMC")
    def load_chart(self, obj: LoadYear) -> str:
        return chart_link(obj.athlete_id)


@admin.register(AthleteLoadSettings)
class AthleteLoadSettingsAdmin(admin.ModelAdmin):
    list_display = ["athlete", "ctl_seed", "atl_seed", "seed_date", "updated_at"]
    list_select_related = ["athlete"]
    raw_id_fields = ["athlete"]


class TrimpSettingsForm(forms.ModelForm):
    change_reason = forms.CharField(max_length=500, required=False, help_text="Why (kept in the audit log)")

    class Meta:
        model = TrimpSettings
        fields = list(EDITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in EDITABLE_FIELDS:
            if name in data and data[name] is not None:
                try:
                    data[name] = services.setting_clean(name, data[name])
                except ServiceError as exc:
                    self.add_error(name, exc.message)
        return data


@admin.register(TrimpSettings)
class TrimpSettingsAdmin(admin.ModelAdmin):
    form = TrimpSettingsForm
    list_display = ["__str__", "max_gap_s", "ctl_days", "atl_days", "max_upload_bytes", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not TrimpSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: TrimpSettings, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS}
        result = services.trimp_settings_update(
            actor=request.user,  # type: ignore[arg-type]
            changes=changes,
            reason=form.cleaned_data.get("change_reason", ""),
        )
        obj.pk = result.settings.pk
        if result.recalculation_recommended:
            self.message_user(request, "Scoring settings changed: start a recalculation to bring history in line.")


@admin.register(TrimpSettingsChange)
class TrimpSettingsChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "reason"]
    list_select_related = ["actor"]
    readonly_fields = ["created_at", "actor", "reason", "before", "after"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RecalculationChunk)
class RecalculationChunkAdmin(admin.ModelAdmin):
    list_display = ["job", "index", "status", "planned", "attempts", "claimed_by", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["job"]
    raw_id_fields = ["job"]
    search_fields = ["job__id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in RecalculationChunk._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
