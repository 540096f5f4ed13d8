"""Import records: validate the project's format and map free-exercise-db's (no Django).

``normalize_record(raw)`` checks one record of the Stamina format and returns ``(record, problems)``, each
problem a ``(field, message)``. ``map_free_exercise(raw)`` turns one free-exercise-db exercise into a Stamina
record, deriving its pattern from the name, force, mechanic and muscles; ``None`` when it cannot be placed.
"""

from __future__ import annotations

import re
from typing import Any

from planning.engine import vocab

FIELDS = (
    "movement_id",
    "name",
    "category",
    "modalities",
    "pattern",
    "equipment",
    "level",
    "primary_muscles",
    "secondary_muscles",
    "contraindications",
    "intensity_class",
    "source",
)
OPTIONAL_STATUS = "status"
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _string_list(raw: dict[str, Any], field: str, allowed: tuple[str, ...] | None, problems: list[Any]) -> list[str]:
    value = raw.get(field, [])
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        problems.append((field, "must be a list of non-empty strings"))
        return []
    items = sorted({item.strip() for item in value})
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            problems.append((field, f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"))
    return items


def _choice(raw: dict[str, Any], field: str, allowed: tuple[str, ...], default: str | None, problems: list[Any]) -> str:
    value = raw.get(field, default)
    if value is None or value == "":
        problems.append((field, "is required"))
        return ""
    if value not in allowed:
        problems.append((field, f"unknown value {value!r}; allowed: {', '.join(allowed)}"))
        return ""
    return str(value)


def normalize_record(raw: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The record in canonical form (sorted lists, defaults filled) and every problem with it."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return {}, [("record", "must be a JSON object")]
    unknown = sorted(set(raw) - set(FIELDS) - {OPTIONAL_STATUS})
    if unknown:
        problems.append((unknown[0], f"unknown field(s) {', '.join(unknown)}"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", "is required"))
        name = ""
    elif len(name.strip()) > 200:
        problems.append(("name", "is longer than 200 characters"))
    movement_id = raw.get("movement_id")
    if not isinstance(movement_id, str) or not movement_id:
        problems.append(("movement_id", "is required"))
        movement_id = ""
    elif not _SLUG.match(movement_id) or len(movement_id) > 120:
        problems.append(("movement_id", f"{movement_id!r} is not a slug (a-z, 0-9 and single hyphens, ≤ 120)"))
    record: dict[str, Any] = {
        "movement_id": movement_id,
        "name": name.strip(),
        "category": str(raw.get("category") or ""),
        "modalities": _string_list(raw, "modalities", vocab.MODALITIES, problems),
        "pattern": _choice(raw, "pattern", vocab.PATTERNS, None, problems),
        "equipment": [e for e in _string_list(raw, "equipment", vocab.EQUIPMENT, problems) if e != "body_only"],
        "level": _choice(raw, "level", vocab.LEVELS, "beginner", problems),
        "primary_muscles": _string_list(raw, "primary_muscles", None, problems),
        "secondary_muscles": _string_list(raw, "secondary_muscles", None, problems),
        "contraindications": _string_list(raw, "contraindications", vocab.CONTRAINDICATIONS, problems),
        "intensity_class": _choice(raw, "intensity_class", vocab.INTENSITY_CLASSES, "moderate", problems),
        "source": str(raw.get("source") or ""),
    }
    if OPTIONAL_STATUS in raw:
        record["status"] = _choice(raw, "status", vocab.STATUSES, None, problems)
    return record, problems


# --- free-exercise-db -----------------------------------------------------------------------------------------

_EQUIPMENT = {
    "body only": [],
    None: [],
    "barbell": ["barbell"],
    "dumbbell": ["dumbbell"],
    "kettlebells": ["kettlebell"],
    "machine": ["machine"],
    "cable": ["cable"],
    "bands": ["bands"],
    "medicine ball": ["medicine_ball"],
    "exercise ball": ["exercise_ball"],
    "foam roll": ["foam_roll"],
    "e-z curl bar": ["ez_bar"],
    "other": ["other"],
}
_MODALITY = {
    "strength": "strength",
    "powerlifting": "strength",
    "strongman": "strength",
    "olympic weightlifting": "power",
    "plyometrics": "plyometrics",
    "cardio": "conditioning",
    "stretching": "mobility",
}
# Name keywords, checked in order (the first match wins): specific lifts before generic words.
_NAME_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("carry", ("carry", "farmer", "yoke", "suitcase walk", "waiter walk")),
    ("lunge", ("lunge", "split squat", "step-up", "step up", "stepup", "bulgarian")),
    ("squat", ("squat", "leg press", "hack ", "wall sit", "pistol")),
    (
        "hinge",
        (
            "deadlift",
            "good morning",
            "romanian",
            "hip thrust",
            "glute bridge",
            "hip lift",
            "swing",
            "clean",
            "snatch",
            "hyperextension",
            "back extension",
            "pull through",
            "rack pull",
            "leg curl",
            "glute ham",
            "butt lift",
        ),
    ),
    ("vertical_pull", ("pull-up", "pullup", "pull up", "chin-up", "chinup", "chin up", "pulldown", "pull-down")),
    ("horizontal_pull", ("rows?\\b", "rowing", "face pull", "reverse fly", "rear delt")),
    (
        "vertical_push",
        ("overhead", "military", "shoulder press", "push press", "jerk", "handstand", "arnold", "landmine press"),
    ),
    (
        "horizontal_push",
        ("bench press", "push-up", "pushup", "push up", "chest press", "floor press", "dips?\\b", "fly", "flye"),
    ),
    ("core", ("crunch", "sit-up", "situp", "plank", "ab ", "rollout", "russian twist", "leg raise", "knee raise")),
)
# A keyword matches at the start of a word ("row" is not in "throw"); a few carry their own end anchor.
_NAME_REGEXES = tuple(
    (pattern, re.compile("|".join(f"(?<![a-z]){word}" for word in words))) for pattern, words in _NAME_RULES
)
_MUSCLE_RULES: dict[tuple[str, str], str] = {
    ("quadriceps", "push"): "squat",
    ("glutes", "push"): "hinge",
    ("hamstrings", "pull"): "hinge",
    ("glutes", "pull"): "hinge",
    ("lower back", "pull"): "hinge",
    ("chest", "push"): "horizontal_push",
    ("shoulders", "push"): "vertical_push",
    ("triceps", "push"): "horizontal_push",
    ("lats", "pull"): "vertical_pull",
    ("middle back", "pull"): "horizontal_pull",
    ("traps", "pull"): "horizontal_pull",
}
_CONTRA_BY_PATTERN = {
    "squat": ["knee"],
    "lunge": ["knee"],
    "hinge": ["low_back"],
    "vertical_push": ["shoulder"],
    "horizontal_push": ["shoulder"],
    "vertical_pull": ["shoulder"],
}


def derive_pattern(raw: dict[str, Any]) -> str | None:
    """The movement pattern of a free-exercise-db exercise, or None when it cannot be placed."""
    name = f" {str(raw.get('name', '')).lower()} "
    category = raw.get("category")
    muscles = list(raw.get("primaryMuscles") or [])
    if category == "stretching":
        return "mobility"
    if category == "cardio":
        return "conditioning"
    for pattern, regex in _NAME_REGEXES:
        if regex.search(name):
            return pattern
    if category == "plyometrics":
        return "conditioning"
    if "abdominals" in muscles:
        return "core"
    if raw.get("mechanic") == "compound":
        for muscle in muscles:
            by_muscle = _MUSCLE_RULES.get((muscle, raw.get("force") or ""))
            if by_muscle:
                return by_muscle
    return None  # isolation work (curls, raises, calves, neck…) has no place among planning.md's patterns


def map_free_exercise(raw: dict[str, Any]) -> dict[str, Any] | None:
    """A Stamina import record for one free-exercise-db exercise (None when its pattern cannot be derived)."""
    pattern = derive_pattern(raw)
    if pattern is None:
        return None
    category = str(raw.get("category") or "")
    contraindications = set(_CONTRA_BY_PATTERN.get(pattern, []))
    if category in ("plyometrics", "olympic weightlifting"):
        contraindications |= {"knee", "ankle"} if category == "plyometrics" else {"low_back", "wrist", "shoulder"}
    if "lower back" in (raw.get("primaryMuscles") or []):
        contraindications.add("low_back")
    if category in ("olympic weightlifting", "plyometrics", "powerlifting", "strongman"):
        intensity = "high"
    elif category == "stretching" or raw.get("mechanic") == "isolation":
        intensity = "low"
    else:
        intensity = "moderate"
    level = raw.get("level") if raw.get("level") in vocab.LEVELS else "beginner"
    return {
        "movement_id": slugify(str(raw.get("id") or raw.get("name") or "")),
        "name": str(raw.get("name") or "").strip(),
        "category": category,
        "modalities": [_MODALITY.get(category, "strength")],
        "pattern": pattern,
        "equipment": list(_EQUIPMENT.get(raw.get("equipment"), ["other"])),
        "level": level,
        "primary_muscles": list(raw.get("primaryMuscles") or []),
        "secondary_muscles": list(raw.get("secondaryMuscles") or []),
        "contraindications": sorted(contraindications),
        "intensity_class": intensity,
        "source": "free-exercise-db",
    }
