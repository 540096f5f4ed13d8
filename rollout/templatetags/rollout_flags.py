"""``{% load rollout_flags %}{% flag_enabled "name" as on %}{% if on %}…{% endif %}`` in any template."""

from __future__ import annotations

from typing import Any

from django import template

from rollout.flags import evaluate, evaluate_for_request

register = template.Library()


@register.simple_tag(takes_context=True)
def flag_enabled(context: dict[str, Any], name: str) -> bool:
    request = context.get("request")
    if request is not None:
        return evaluate_for_request(request, name)[0]
    return evaluate(name, user=context.get("user"))[0]
