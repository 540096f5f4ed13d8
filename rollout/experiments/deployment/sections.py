"""Deployable sections: each turns its YAML file into named target states and applies them through services.

A section is registered (the feedback app registers ``user_feedback`` from its AppConfig, so rollout imports
no feature app). The engine only needs, per section:

- ``validate(data, context)`` → problems as ``(path, reason)``; ``context`` holds every loaded file, for
  cross-file checks (an A/B-test flag must name an experiment of ``ab_tests.yml``);
- ``desired(data)`` → ``{name: state}``: plain JSON, comparable with ``export()``;
- ``export()`` → ``{name: state}`` of everything the section manages in the database now;
- ``apply(name, state, actor)`` → make ``name`` be ``state`` (``None``: remove it; only rollback does this).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.models import User

State = dict[str, Any]
Problem = tuple[str, str]  # (path inside the file, reason)


@dataclass(frozen=True)
class Section:
    name: str  # feature_flags, ab_testing, performance_monitoring, user_feedback
    action: str  # the --action that deploys it alone: deploy-feature-flags, ...
    filename: str  # under the config directory
    order: int  # apply order (flags before the experiments that use them)
    validate: Callable[[Any, dict[str, Any]], list[Problem]]
    desired: Callable[[Any], dict[str, State]]
    export: Callable[[], dict[str, State]]
    apply: Callable[[str, State | None, User | None], None]


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    _SECTIONS[section.name] = section
    return section


def registered_sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))


def section_for_action(action: str) -> Section | None:
    return next((s for s in _SECTIONS.values() if s.action == action), None)


# --- small validation helpers shared by the sections ------------------------------------------------------------


def expect_mapping(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append((path, f"must be a mapping, got {type(value).__name__}"))
        return {}
    return value


def expect_number(
    item: dict[str, Any],
    key: str,
    path: str,
    problems: list[Problem],
    *,
    low: float,
    high: float,
    integer: bool = False,
) -> None:
    if key not in item:
        return
    value = item[key]
    kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not kind_ok or not low <= value <= high:
        what = "an integer" if integer else "a number"
        problems.append((f"{path}.{key}", f"must be {what} from {low:g} to {high:g}, got {value!r}"))


def expect_choice(item: dict[str, Any], key: str, path: str, problems: list[Problem], choices: list[str]) -> None:
    if key in item and item[key] not in choices:
        problems.append((f"{path}.{key}", f"must be one of {', '.join(choices)}, got {item[key]!r}"))


def unknown_keys(item: dict[str, Any], allowed: set[str], path: str, problems: list[Problem]) -> None:
    for key in sorted(set(item) - allowed):
        problems.append((f"{path}.{key}", "unknown field"))
