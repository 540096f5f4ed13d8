"""``configs/user_feedback.yml`` for ``manage.py deploy --action deploy-user-feedback``: which team (and
default assignee) each feedback category is routed to. Registered from FeedbackConfig.ready.

Sentiment and priority are not keyword lists in Stamina (VADER scores and the triage rules in
``feedback/triage.py``), so the seed's ``sentiment_keywords`` have no place in this file.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.models import User
from feedback.models import Category, RoutingRule, Team
from rollout.experiments.deployment.sections import (
    Problem,
    Section,
    State,
    expect_mapping,
    register_section,
    unknown_keys,
)


def validate(data: Any, context: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    root = expect_mapping(data, "", problems)
    unknown_keys(root, {"version", "feedback_categories"}, "", problems)
    categories = expect_mapping(root.get("feedback_categories", {}), "feedback_categories", problems)
    usernames = {item.get("assignee") for item in categories.values() if isinstance(item, dict)} - {None}
    known = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    for category, spec in categories.items():
        path = f"feedback_categories.{category}"
        if category not in Category.values:
            problems.append((path, f"unknown category; one of {', '.join(Category.values)}"))
        item = expect_mapping(spec, path, problems)
        unknown_keys(item, {"team", "assignee", "description"}, path, problems)
        if not isinstance(item.get("team"), str) or not item.get("team", "").strip():
            problems.append((f"{path}.team", "required (a team name; created when missing)"))
        if item.get("assignee") is not None and item["assignee"] not in known:
            problems.append((f"{path}.assignee", f"no user named {item['assignee']!r}"))
    return problems


def desired(data: Any) -> dict[str, State]:
    return {
        category: {"team": item["team"].strip(), "assignee": item.get("assignee")}
        for category, item in (data.get("feedback_categories") or {}).items()
    }


def export() -> dict[str, State]:
    rules = RoutingRule.objects.select_related("team", "assignee").order_by("category")
    return {
        rule.category: {"team": rule.team.name, "assignee": rule.assignee.username if rule.assignee else None}
        for rule in rules
    }


@transaction.atomic
def routing_rule_apply(category: str, state: State | None, actor: User | None) -> None:
    """Route ``category`` to ``state["team"]`` (created when missing) and its assignee; ``None`` removes the rule."""
    if state is None:
        RoutingRule.objects.filter(category=category).delete()
        return
    team, _ = Team.objects.get_or_create(name=state["team"])
    assignee = User.objects.filter(username=state["assignee"]).first() if state["assignee"] else None
    RoutingRule.objects.update_or_create(category=category, defaults={"team": team, "assignee": assignee})


def register() -> None:
    register_section(
        Section(
            name="user_feedback",
            action="deploy-user-feedback",
            filename="user_feedback.yml",
            order=40,
            validate=validate,
            desired=desired,
            export=export,
            apply=routing_rule_apply,
        )
    )
