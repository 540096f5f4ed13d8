"""``configs/ab_tests.yml``: experiments in the seed's shape (variants with traffic_percentage and
configuration; metrics with metric_type, aggregation, target_direction, minimum_detectable_effect,
significance_level, power; success criteria). ``status: running`` starts it, ``stopped`` stops it.

The definition of an experiment that has started is frozen: changing its variants or metrics in the file is a
validation error (start a new test id instead), so a deployment never rewrites a running test under its data.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.models import User
from rollout.experiments.deployment.sections import (
    Problem,
    Section,
    State,
    expect_choice,
    expect_mapping,
    expect_number,
    register_section,
    unknown_keys,
)
from rollout.experiments.models import Experiment
from rollout.experiments.registry import metric_source
from rollout.experiments.services import (
    MetricSpec,
    VariantSpec,
    experiment_create,
    experiment_start,
    experiment_stop,
)

STATUSES = ["draft", "running", "stopped"]
TEST_FIELDS = {
    "name",
    "description",
    "hypothesis",
    "test_type",
    "status",
    "flag",
    "owner",
    "variants",
    "metrics",
    "success_criteria",
}
METRIC_FIELDS = {
    "name",
    "description",
    "metric_type",
    "aggregation",
    "target_direction",
    "minimum_detectable_effect",
    "significance_level",
    "power",
}
ROLES = ["primary", "secondary", "guardrail"]


def validate(data: Any, context: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    root = expect_mapping(data, "", problems)
    unknown_keys(root, {"version", "ab_tests"}, "", problems)
    tests = expect_mapping(root.get("ab_tests", {}), "ab_tests", problems)
    current = export()
    try:
        wanted = desired({"ab_tests": tests})
    except (KeyError, TypeError, ValueError, AttributeError):
        wanted = {}  # malformed entries: their problems are listed below
    for key, spec in tests.items():
        path = f"ab_tests.{key}"
        item = expect_mapping(spec, path, problems)
        unknown_keys(item, TEST_FIELDS, path, problems)
        expect_choice(item, "status", path, problems, STATUSES)
        variants = item.get("variants")
        if not isinstance(variants, list) or len(variants) < 2:
            problems.append((f"{path}.variants", "needs at least two variants (control first)"))
            variants = []
        for i, variant in enumerate(variants):
            vpath = f"{path}.variants[{i}]"
            v = expect_mapping(variant, vpath, problems)
            unknown_keys(v, {"name", "description", "traffic_percentage", "configuration"}, vpath, problems)
            if not isinstance(v.get("name"), str) or not v.get("name"):
                problems.append((f"{vpath}.name", "required"))
            expect_number(v, "traffic_percentage", vpath, problems, low=0, high=100)
            if "configuration" in v and not isinstance(v["configuration"], dict):
                problems.append((f"{vpath}.configuration", "must be a mapping"))
        total = sum(v.get("traffic_percentage", 0) for v in variants if isinstance(v, dict))
        if variants and abs(total - 100) > 1e-6:
            problems.append((f"{path}.variants", f"traffic_percentage must add up to 100, not {total:g}"))
        metrics = item.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            problems.append((f"{path}.metrics", "needs at least one metric"))
            metrics = []
        for i, metric in enumerate(metrics):
            mpath = f"{path}.metrics[{i}]"
            m = expect_mapping(metric, mpath, problems)
            unknown_keys(m, METRIC_FIELDS, mpath, problems)
            if metric_source(str(m.get("name"))) is None:
                problems.append((f"{mpath}.name", f"{m.get('name')!r} is not a registered metric source"))
            expect_choice(m, "metric_type", mpath, problems, ROLES)
            expect_choice(m, "aggregation", mpath, problems, ["mean", "proportion"])
            expect_choice(m, "target_direction", mpath, problems, ["increase", "decrease"])
            expect_number(m, "minimum_detectable_effect", mpath, problems, low=1e-6, high=10)
            expect_number(m, "significance_level", mpath, problems, low=1e-6, high=0.5)
            expect_number(m, "power", mpath, problems, low=0.05, high=0.999)
        if sum(1 for m in metrics if isinstance(m, dict) and m.get("metric_type") == "primary") != 1:
            problems.append((f"{path}.metrics", "needs exactly one metric with metric_type: primary"))
        criteria = expect_mapping(item.get("success_criteria", {}), f"{path}.success_criteria", problems)
        unknown_keys(
            criteria, {"min_users_per_variant", "min_days", "confidence_level"}, f"{path}.success_criteria", problems
        )
        expect_number(
            criteria, "min_users_per_variant", f"{path}.success_criteria", problems, low=2, high=10**9, integer=True
        )
        expect_number(criteria, "min_days", f"{path}.success_criteria", problems, low=0, high=365, integer=True)
        expect_number(criteria, "confidence_level", f"{path}.success_criteria", problems, low=0.5, high=0.999999)
        owner = item.get("owner")
        if owner is not None and not User.objects.filter(username=owner).exists():
            problems.append((f"{path}.owner", f"no user named {owner!r}"))
        flag_name = item.get("flag", key)
        flags_file = (context.get("feature_flags") or {}).get("flags") or {}
        from_file = flags_file.get(flag_name)
        if isinstance(from_file, dict) and from_file.get("type") != "a_b_test":
            problems.append((f"{path}.flag", f"flag {flag_name!r} in feature_flags.yml must have type a_b_test"))
        old = current.get(key)
        if old and key in wanted and old["status"] != "draft":
            frozen = ("variants", "metrics", "flag")
            if any(old[field] != wanted[key][field] for field in frozen):
                problems.append(
                    (path, f"experiment has started ({old['status']}): variants, metrics and flag are frozen")
                )
            order = STATUSES.index
            if order(wanted[key]["status"]) < order(old["status"]):
                problems.append((f"{path}.status", f"cannot go from {old['status']} back to {wanted[key]['status']}"))
    return problems


def _metric_state(metric: dict[str, Any], criteria: dict[str, Any]) -> dict[str, Any]:
    source = metric_source(metric["name"])
    confidence = criteria.get("confidence_level")
    return {
        "source": metric["name"],
        "role": metric.get("metric_type", "secondary"),
        "kind": metric.get("aggregation") or (source.kind if source else "mean"),
        "direction": metric.get("target_direction") or (source.direction if source else "increase"),
        "mde": float(metric.get("minimum_detectable_effect", 0.05)),
        "alpha": float(metric.get("significance_level", 1 - confidence if confidence else 0.05)),
        "power": float(metric.get("power", 0.8)),
    }


def desired(data: Any) -> dict[str, State]:
    result: dict[str, State] = {}
    for key, item in (data.get("ab_tests") or {}).items():
        criteria = item.get("success_criteria") or {}
        result[key] = {
            "name": item.get("name", key),
            "description": item.get("description", ""),
            "hypothesis": item.get("hypothesis", ""),
            "test_type": item.get("test_type", ""),
            "status": item.get("status", "draft"),
            "flag": item.get("flag", key),
            "owner": item.get("owner"),
            "min_users_per_variant": int(criteria.get("min_users_per_variant", 1000)),
            "min_days": int(criteria.get("min_days", 7)),
            "variants": [
                {
                    "name": v["name"],
                    "description": v.get("description", ""),
                    "traffic_percentage": float(v["traffic_percentage"]),
                    "configuration": v.get("configuration") or {},
                }
                for v in item.get("variants") or []
            ],
            "metrics": sorted(
                (_metric_state(m, criteria) for m in item.get("metrics") or []), key=lambda m: m["source"]
            ),
        }
    return result


def _state(experiment: Experiment) -> State:
    return {
        "name": experiment.name,
        "description": experiment.description,
        "hypothesis": experiment.hypothesis,
        "test_type": experiment.test_type,
        "status": experiment.status,
        "flag": experiment.flag.name,
        "owner": experiment.owner.username if experiment.owner else None,
        "min_users_per_variant": experiment.min_users_per_variant,
        "min_days": experiment.min_days,
        "variants": [
            {
                "name": v.name,
                "description": v.description,
                "traffic_percentage": v.traffic_percentage,
                "configuration": v.configuration,
            }
            for v in experiment.variants.all()
        ],
        "metrics": sorted(
            (
                {
                    "source": m.source,
                    "role": m.role,
                    "kind": m.kind,
                    "direction": m.direction,
                    "mde": m.mde,
                    "alpha": m.alpha,
                    "power": m.power,
                }
                for m in experiment.metrics.all()
            ),
            key=lambda m: m["source"],
        ),
    }


def export() -> dict[str, State]:
    experiments = Experiment.objects.select_related("flag", "owner").prefetch_related("variants", "metrics")
    return {e.key: _state(e) for e in experiments.order_by("key")}


@transaction.atomic
def apply(key: str, state: State | None, actor: User | None) -> None:
    experiment = Experiment.objects.filter(key=key).first()
    if state is None:
        if experiment is not None:
            experiment.delete()  # rollback of an experiment the deployment created (its exposures go with it)
        return
    owner = User.objects.filter(username=state["owner"]).first() if state["owner"] else None
    if experiment is None:
        experiment = experiment_create(
            key=key,
            name=state["name"],
            description=state["description"],
            hypothesis=state["hypothesis"],
            test_type=state["test_type"],
            flag_name=state["flag"],
            owner=owner,
            min_days=state["min_days"],
            min_users_per_variant=state["min_users_per_variant"],
            variants=[VariantSpec(**v) for v in state["variants"]],
            metrics=[MetricSpec(**m) for m in state["metrics"]],
            actor=actor,
            source="import",
        )
    else:
        for field in ("name", "description", "hypothesis", "test_type", "min_days", "min_users_per_variant"):
            setattr(experiment, field, state[field])
        experiment.owner = owner
        experiment.save()
    if state["status"] == experiment.status:
        return
    if state["status"] == "running" and experiment.status == "draft":
        experiment_start(key=key)
    elif state["status"] == "stopped":
        if experiment.status == "draft":
            experiment_start(key=key)
        experiment_stop(key=key)
    else:  # only a rollback goes backwards: restore the recorded status as it was
        Experiment.objects.filter(pk=experiment.pk).update(
            status=state["status"],
            stopped_at=None,
            started_at=experiment.started_at if state["status"] == "running" else None,
            updated_at=timezone.now(),
        )


register_section(
    Section(
        name="ab_testing",
        action="deploy-ab-testing",
        filename="ab_tests.yml",
        order=20,
        validate=validate,
        desired=desired,
        export=export,
        apply=apply,
    )
)
