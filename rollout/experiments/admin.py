"""The ops console for experiments: the verdict in one word with its reason, a forest plot of effects and
confidence intervals per metric, the SRM check and exposures over time; actions call the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.errors import ServiceError
from core.jobs import job_enqueue
from rollout.experiments import charts, selectors
from rollout.experiments.analysis import SRM_THRESHOLD
from rollout.experiments.models import Deployment, Experiment, ExperimentMetric, ExperimentResult, ShadowRun, Variant
from rollout.experiments.services import experiment_start, experiment_stop

VERDICT_COLOUR = {"ship": "#2e7d32", "do_not_ship": "#c62828", "keep_running": "#f9a825", "invalid": "#6a1b9a"}


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    readonly_fields = ("name", "description", "traffic_percentage", "configuration", "position")
    can_delete = False


class MetricInline(admin.TabularInline):
    model = ExperimentMetric
    extra = 0
    readonly_fields = ("source", "role", "kind", "direction", "mde", "alpha", "power")
    can_delete = False


def _verdict_badge(verdict: str) -> SafeString:
    return format_html(
        '<b style="color:#fff;background:{};padding:2px 8px;border-radius:3px">{}</b>',
        VERDICT_COLOUR.get(verdict, "#555"),
        verdict.replace("_", " "),
    )


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "status", "flag", "owner", "started_at", "latest_verdict")
    list_filter = ("status",)
    search_fields = ("key", "name")
    list_select_related = ("flag", "owner")
    raw_id_fields = ("flag", "owner")
    inlines = [VariantInline, MetricInline]
    readonly_fields = (
        "status",
        "started_at",
        "stopped_at",
        "verdict_panel",
        "forest_plot",
        "srm_check",
        "exposure_chart",
    )
    fieldsets = (
        ("Result", {"fields": ("verdict_panel", "forest_plot", "srm_check", "exposure_chart")}),
        (
            "Definition",
            {
                "fields": (
                    "key",
                    "name",
                    "description",
                    "hypothesis",
                    "test_type",
                    "flag",
                    "owner",
                    ("status", "started_at", "stopped_at"),
                    ("min_days", "min_users_per_variant", "sequential", "sequential_tuning"),
                )
            },
        ),
    )
    actions = ["start", "stop", "analyse", "analyse_full"]

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> tuple[str, ...]:
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            return (*self.readonly_fields, "key", "flag", "sequential", "sequential_tuning")  # frozen once started
        return self.readonly_fields

    @admin.display(description="verdict")
    def latest_verdict(self, obj: Experiment) -> SafeString | str:
        result = selectors.latest_result(obj)
        return _verdict_badge(result.verdict) if result else "-"

    @admin.display(description="verdict")
    def verdict_panel(self, obj: Experiment) -> SafeString | str:
        result = selectors.latest_result(obj)
        if result is None:
            return "Not analysed yet (action “Analyse now”, or wait for the hourly job)."
        rollups = result.data.get("rollups", {})
        modes = sorted({r["mode"] for r in rollups.values()})
        folded = min((r["folded_until"] for r in rollups.values() if r.get("folded_until")), default=None)
        rebuilt = min((r["rebuilt_at"] for r in rollups.values() if r.get("rebuilt_at")), default=None)
        return format_html(
            '<span style="font-size:1.4em">{}</span><p>{}</p><p class="help">computed {} in {} ms; sums {} '
            "(events folded until {}, last full rebuild {})</p>",
            _verdict_badge(result.verdict),
            result.reason,
            result.computed_at.strftime("%Y-%m-%d %H:%M UTC"),
            f"{result.duration_ms:.0f}",
            "/".join(modes) or "-",
            folded or "-",
            rebuilt or "-",
        )

    @admin.display(description="effects (relative, per metric)")
    def forest_plot(self, obj: Experiment) -> SafeString | str:
        result = selectors.latest_result(obj)
        return mark_safe(charts.forest_plot(result.data)) if result else "-"

    @admin.display(description="sample ratio check")
    def srm_check(self, obj: Experiment) -> SafeString | str:
        result = selectors.latest_result(obj)
        if result is None or result.srm_p_value is None:
            return "-"
        planned = {v.name: v.traffic_percentage for v in obj.variants.all()}
        total = sum(result.exposures.values()) or 1
        shares = ", ".join(
            f"{name}: {count:,} ({count / total:.1%}, planned {planned.get(name, 0):g} %)"
            for name, count in result.exposures.items()
        )
        ok = result.srm_p_value >= SRM_THRESHOLD
        return format_html(
            '<b style="color:{}">{}</b> — chi-square p = {} (broken below {}). {}',
            "#2e7d32" if ok else "#c62828",
            "OK" if ok else "SAMPLE RATIO MISMATCH",
            f"{result.srm_p_value:.3g}",
            SRM_THRESHOLD,
            shares,
        )

    @admin.display(description="exposures over time")
    def exposure_chart(self, obj: Experiment) -> SafeString:
        return mark_safe(charts.exposure_chart(selectors.exposures_per_day(obj)))

    def _each(self, request: HttpRequest, queryset: QuerySet[Experiment], func: object, done: str) -> None:
        for experiment in queryset:
            try:
                func(key=experiment.key)  # type: ignore[operator]
            except ServiceError as exc:
                self.message_user(request, f"{experiment.key}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment.key}: {done}")

    @admin.action(description="Start the selected experiments")
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, experiment_start, "started")

    @admin.action(description="Stop the selected experiments")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, experiment_stop, "stopped")

    @admin.action(description="Analyse now (queue a job)")
    def analyse(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            job = job_enqueue(
                kind="experiments.analyse", params={"experiment": experiment.key}, created_by=request.user
            )
            self.message_user(request, f"{experiment.key}: analysis job {job.pk} queued")

    @admin.action(description="Analyse from every event (full rebuild of the sums; after data was corrected)")
    def analyse_full(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            job = job_enqueue(
                kind="experiments.analyse",
                params={"experiment": experiment.key, "full": True},
                created_by=request.user,
            )
            self.message_user(request, f"{experiment.key}: full analysis job {job.pk} queued")


@admin.register(ExperimentResult)
class ExperimentResultAdmin(admin.ModelAdmin):
    list_display = ("experiment", "computed_at", "verdict", "srm_p_value", "duration_ms")
    list_filter = ("verdict",)
    list_select_related = ("experiment",)
    raw_id_fields = ("experiment", "job")
    readonly_fields = [f.name for f in ExperimentResult._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("id", "action", "sections", "actor", "created_at", "rolled_back")
    list_filter = ("action", "rolled_back")
    list_select_related = ("actor",)
    raw_id_fields = ("actor",)
    readonly_fields = [f.name for f in Deployment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ShadowRun)
class ShadowRunAdmin(admin.ModelAdmin):
    list_display = ("name", "computed_at", "items", "compared", "failed", "mean_relative", "within_5pct")
    list_filter = ("name",)
    raw_id_fields = ("job",)
    readonly_fields = [f.name for f in ShadowRun._meta.fields]

    @admin.display(description="mean relative difference")
    def mean_relative(self, obj: ShadowRun) -> str:
        value = obj.summary.get("mean_relative_difference")
        return "-" if value is None else f"{value:+.1%}"

    @admin.display(description="within 5 %")
    def within_5pct(self, obj: ShadowRun) -> str:
        value = obj.summary.get("share_within_5pct")
        return "-" if value is None else f"{value:.0%}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
