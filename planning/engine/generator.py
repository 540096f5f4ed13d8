"""The plan generator: a pure, deterministic function of (request, library, seed). No Django.

``generate_plan(request, library)`` returns the plan as planning.md's camelCase JSON. How it chooses, in order
(``docs/planning.md`` says why):

1. **Weekdays.** ``min(weeklyGoalDays, availabilityDays, len(availableWeekdays))`` sessions a week, on the
   combination of available weekdays with the fewest back-to-back days and the largest smallest gap (Sunday to
   Monday counts: the week repeats).
2. **Phases and deloads.** Blocks of four weeks, the fourth a deload; blocks are spread over accumulation →
   intensification → realization (two phases for plans under eight weeks).
3. **Candidates.** Only published movements, whose equipment the athlete has, with no contraindication that
   matches an injury, at a level the experience allows (never ``expert`` for beginners or intermediates);
   ranked per pattern by how well the level fits the experience, then picked with a seeded RNG among the best
   few — once per phase, so a phase repeats its lifts and can progress them.
4. **Patterns per session.** A focus rotation (full body for ≤ 3 sessions, lower/upper splits above), minus
   every main strength pattern the session on the previous calendar day used — so no main pattern ever lands
   on two consecutive days — plus core, carries, conditioning (endurance) or mobility (mobility goal).
5. **Intensity.** A share of high sessions that grows through the phases, capped by experience, placed on
   sessions after a rest day first, never on the day after another high session; deload weeks are low.
6. **Volume.** Sets by experience (beginners 2, intermediates 3, advanced 4 on main lifts), reps/rest/RPE by
   the primary goal and phase; deload weeks halve the sets and drop the last main lift.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import combinations
from typing import Any

from planning.engine.vocab import (
    ALWAYS_AVAILABLE,
    EXPERIENCES,
    GOALS,
    INJURIES,
    LEVELS_FOR_EXPERIENCE,
    LOWER_PATTERNS,
    MAIN_PATTERNS,
    UPPER_PATTERNS,
)

GENERATOR_VERSION = "stamina-rules-v1"
DEFAULT_WEEKS = 12
MIN_WEEKS, MAX_WEEKS = 4, 16
DELOAD_EVERY = 4
TOP_CANDIDATES = 4  # the seeded RNG picks among this many best-ranked movements of a pattern


class GenerationError(ValueError):
    """The request cannot be planned (bad input, or no usable movement)."""


@dataclass(frozen=True, slots=True)
class MovementSpec:
    """One library movement as the generator sees it."""

    movement_id: str
    name: str
    pattern: str
    level: str = "beginner"
    equipment: tuple[str, ...] = ()
    contraindications: tuple[str, ...] = ()
    status: str = "published"
    intensity_class: str = "moderate"


@dataclass(frozen=True)
class PlanRequest:
    """The validated request. ``equipment=None`` means a full gym; weekdays are 1 (Monday) … 7 (Sunday)."""

    weekly_goal_days: int
    availability_days: int
    goals: tuple[str, ...]
    experience: str
    duration_weeks: int = DEFAULT_WEEKS
    available_weekdays: tuple[int, ...] | None = None
    equipment: tuple[str, ...] | None = None
    injuries: tuple[str, ...] = ()
    start_date: date | None = None
    seed: int = 0

    def validate(self) -> None:
        if not 1 <= self.weekly_goal_days <= 7:
            raise GenerationError("weeklyGoalDays must be from 1 to 7")
        if not 1 <= self.availability_days <= 7:
            raise GenerationError("availabilityDays must be from 1 to 7")
        if not self.goals or any(goal not in GOALS for goal in self.goals):
            raise GenerationError(f"goals must be a non-empty list of {', '.join(GOALS)}")
        if self.experience not in EXPERIENCES:
            raise GenerationError(f"experience must be one of {', '.join(EXPERIENCES)}")
        if not MIN_WEEKS <= self.duration_weeks <= MAX_WEEKS:
            raise GenerationError(f"durationWeeks must be from {MIN_WEEKS} to {MAX_WEEKS}")
        if self.available_weekdays is not None and (
            not self.available_weekdays or any(not 1 <= day <= 7 for day in self.available_weekdays)
        ):
            raise GenerationError("availableWeekdays must be a non-empty list of 1 (Monday) … 7 (Sunday)")
        if any(injury not in INJURIES for injury in self.injuries):
            raise GenerationError(f"injuries must be among {', '.join(INJURIES)}")


# Prescriptions by primary goal: reps per phase (accumulation, intensification, realization) and rest seconds.
_REPS: dict[str, tuple[tuple[int, int, int], int]] = {
    "strength": ((6, 5, 3), 150),
    "power": ((5, 3, 2), 180),
    "hypertrophy": ((12, 10, 8), 90),
    "endurance": ((15, 15, 12), 45),
    "general_fitness": ((10, 8, 8), 75),
    "mobility": ((10, 10, 8), 60),
}
_MAIN_SETS = {"beginner": 2, "intermediate": 3, "advanced": 4}
_MAIN_SLOTS = {"beginner": 3, "intermediate": 4, "advanced": 5}
_MAX_HIGH = {"beginner": 1, "intermediate": 2, "advanced": 3}
_HIGH_SHARE = {"accumulation": 0.25, "intensification": 0.34, "realization": 0.4}
_RPE = {"low": 6.0, "moderate": 7.0, "high": 8.5}
_TIMED = {"carry": 40, "conditioning": 45, "mobility": 45}  # seconds of work per set for timed patterns
_LEVEL_RANK = {
    "beginner": {"beginner": 0, "intermediate": 1},
    "intermediate": {"intermediate": 0, "beginner": 1},
    "advanced": {"expert": 0, "intermediate": 0, "beginner": 1},
}
_FOCUS_ORDER = {
    "full": ("squat", "horizontal_push", "hinge", "horizontal_pull", "vertical_pull", "lunge", "vertical_push"),
    "full_b": ("hinge", "vertical_push", "lunge", "vertical_pull", "squat", "horizontal_pull", "horizontal_push"),
    "lower": ("squat", "hinge", "lunge"),
    "upper": ("horizontal_push", "horizontal_pull", "vertical_push", "vertical_pull"),
    "conditioning": (),
}


def choose_weekdays(available: Iterable[int], count: int) -> tuple[int, ...]:
    """The ``count`` weekdays among ``available`` with the fewest back-to-back pairs and widest spacing."""
    return _choose_weekdays(tuple(sorted(set(available))), count)


@lru_cache(maxsize=512)
def _choose_weekdays(days: tuple[int, ...], count: int) -> tuple[int, ...]:
    count = min(count, len(days))
    best: tuple[tuple[int, int, int], tuple[int, ...]] | None = None
    for combo in combinations(days, count):
        gaps = [(combo[(i + 1) % count] - combo[i]) % 7 or 7 for i in range(count)]
        key = (sum(1 for gap in gaps if gap == 1), -min(gaps), max(gaps) - min(gaps))
        if best is None or key < best[0]:
            best = (key, combo)
    return best[1] if best else ()


def phase_names(weeks: int) -> list[str]:
    """The phase of each week (index 0 = week 1)."""
    if weeks < 2 * DELOAD_EVERY:
        first = math.ceil(weeks / 2)
        return ["accumulation"] * first + ["intensification"] * (weeks - first)
    blocks = math.ceil(weeks / DELOAD_EVERY)
    names = ("accumulation", "intensification", "realization") if blocks >= 3 else ("accumulation", "intensification")
    per_phase = [blocks // len(names)] * len(names)
    for i in range(blocks % len(names)):
        per_phase[i] += 1
    block_phase = [name for name, n in zip(names, per_phase, strict=True) for _ in range(n)]
    return [block_phase[week // DELOAD_EVERY] for week in range(weeks)]


class Library:
    """Published movements indexed by pattern and level (built once per library; requests only filter)."""

    def __init__(self, movements: Iterable[MovementSpec]) -> None:
        self.by_pattern: dict[str, dict[str, list[MovementSpec]]] = {}
        for movement in sorted(movements, key=lambda m: m.movement_id):
            if movement.status == "published":
                self.by_pattern.setdefault(movement.pattern, {}).setdefault(movement.level, []).append(movement)
        self.ids = frozenset(m.movement_id for levels in self.by_pattern.values() for ms in levels.values() for m in ms)


def as_library(library: Library | Sequence[MovementSpec]) -> Library:
    return library if isinstance(library, Library) else Library(library)


def _candidates(request: PlanRequest, library: Library) -> dict[str, list[MovementSpec]]:
    """Usable movements per pattern, best-ranked level first, then by movement id (a stable order)."""
    have = None if request.equipment is None else frozenset(request.equipment) | ALWAYS_AVAILABLE
    injuries = frozenset(request.injuries)
    ranks = _LEVEL_RANK[request.experience]
    levels = sorted(
        (level for level in ranks if level in LEVELS_FOR_EXPERIENCE[request.experience]), key=lambda level: ranks[level]
    )
    by_pattern: dict[str, list[MovementSpec]] = {}
    for pattern, by_level in library.by_pattern.items():
        usable = [
            movement
            for level in levels
            for movement in by_level.get(level, ())
            if (have is None or have.issuperset(movement.equipment)) and injuries.isdisjoint(movement.contraindications)
        ]
        if usable:
            by_pattern[pattern] = usable
    return by_pattern


class _Picker:
    """Seeded choice of one movement per (phase, pattern, slot), remembered for the whole phase.

    One RNG per plan, consumed in the generator's fixed order, keeps same inputs + seed → same plan.
    """

    def __init__(self, seed: int, candidates: dict[str, list[MovementSpec]]) -> None:
        self.rng = random.Random(seed)
        self.candidates = candidates
        self.chosen: dict[tuple[str, str, int], MovementSpec] = {}

    def pick(self, phase: str, pattern: str, slot: int) -> MovementSpec | None:
        key = (phase, pattern, slot)
        movement = self.chosen.get(key)
        if movement is None:
            pool = self.candidates.get(pattern)
            if not pool:
                return None
            best = pool[0].level
            top = [m for m in pool[: TOP_CANDIDATES * 4] if m.level == best][:TOP_CANDIDATES]
            movement = self.chosen[key] = self.rng.choice(top)
        return movement


def _rotation(sessions_per_week: int) -> tuple[str, ...]:
    if sessions_per_week <= 3:
        return ("full", "full_b")
    if sessions_per_week == 4:
        return ("lower", "upper")
    return ("lower", "upper", "full")


def _session_patterns(
    focus: str, forbidden: set[str], request: PlanRequest, candidates: dict[str, list[MovementSpec]]
) -> list[str]:
    """Main patterns of the focus that are allowed today and have a movement, then the accessories."""
    slots = _MAIN_SLOTS[request.experience]
    main = [p for p in _FOCUS_ORDER[focus] if p not in forbidden and candidates.get(p)][:slots]
    if not main and focus != "conditioning":  # the focus is blocked by yesterday: try the other half
        other = UPPER_PATTERNS if set(_FOCUS_ORDER[focus]) & set(LOWER_PATTERNS) else LOWER_PATTERNS
        main = [p for p in other if p not in forbidden and candidates.get(p)][:slots]
    extras = ["core"]
    if main and set(main) & set(LOWER_PATTERNS):
        extras.append("carry")
    if "endurance" in request.goals or not main:
        extras.append("conditioning")
    if "mobility" in request.goals or not main:
        extras.append("mobility")
    return main + [p for p in extras if candidates.get(p)]


def _exercise(
    movement: MovementSpec, *, sets: int, goal: str, phase_index: int, intensity: str, deload: bool
) -> dict[str, Any]:
    reps_by_phase, rest = _REPS[goal]
    main = movement.pattern in MAIN_PATTERNS
    rpe = _RPE[intensity] if main else min(_RPE[intensity], 7.0)
    if deload:
        rpe -= 1.0
    exercise: dict[str, Any] = {
        "movementId": movement.movement_id,
        "name": movement.name,
        "pattern": movement.pattern,
        "sets": sets,
    }
    if movement.pattern in _TIMED:
        exercise["seconds"] = _TIMED[movement.pattern]
        exercise["restSeconds"] = 60
    else:
        exercise["reps"] = reps_by_phase[min(phase_index, 2)] if main else 12
        exercise["restSeconds"] = rest if main else 60
    exercise["rpe"] = rpe
    return exercise


def _duration_minutes(exercises: list[dict[str, Any]]) -> int:
    seconds = 600.0  # warm-up
    for ex in exercises:
        work = ex.get("seconds") or ex.get("reps", 10) * 4
        seconds += ex["sets"] * (work + ex["restSeconds"])
    return max(20, int(5 * round(seconds / 300)))


def _assign_intensities(
    days: list[int], main_flags: list[bool], wanted_high: int, deload: bool, last_high_day: int | None
) -> list[str]:
    """Intensities of one week's sessions (absolute ``days``): high on rested main sessions, never back to back."""
    if deload:
        return ["low"] * len(days)
    result = ["moderate" if main else "low" for main in main_flags]
    day_set = set(days)
    order = sorted(range(len(days)), key=lambda i: (days[i] - 1 in day_set, i))
    high_days: set[int] = {last_high_day} if last_high_day is not None else set()
    placed = 0
    for i in order:
        if placed >= wanted_high or not main_flags[i]:
            continue
        if days[i] - 1 in high_days or days[i] + 1 in high_days:
            continue
        result[i] = "high"
        high_days.add(days[i])
        placed += 1
    if len(days) >= 5 and "low" not in result:  # a lighter day in a dense week
        lows = [i for i in range(len(days)) if result[i] == "moderate"]
        if lows:
            result[lows[-1]] = "low"
    return result


def generate_plan(request: PlanRequest, library: Library | Sequence[MovementSpec]) -> dict[str, Any]:
    """The plan for ``request`` built only from ``library``'s usable movements; same inputs → same plan.

    Raises GenerationError for an invalid request or when no movement of the library fits it.
    """
    request.validate()
    candidates = _candidates(request, as_library(library))
    if not any(candidates.get(p) for p in MAIN_PATTERNS) and not candidates:
        raise GenerationError("no published movement of the library fits this athlete (equipment, injuries, level)")
    available = request.available_weekdays or tuple(range(1, 8))
    per_week = min(request.weekly_goal_days, request.availability_days, len(set(available)))
    weekdays = choose_weekdays(available, per_week)
    phases = phase_names(request.duration_weeks)
    picker = _Picker(request.seed, candidates)
    rotation = _rotation(per_week)
    start = None
    if request.start_date is not None:
        start = request.start_date + timedelta(days=(7 - request.start_date.weekday()) % 7)  # first Monday on/after

    microcycles: list[dict[str, Any]] = []
    prev_day: int | None = None
    prev_main: set[str] = set()
    last_high_day: int | None = None
    session_counter = 0
    shapes: dict[tuple[str, tuple[str, ...], str, bool], list[dict[str, Any]]] = {}
    for week_index, phase in enumerate(phases):
        week = week_index + 1
        deload = week % DELOAD_EVERY == 0
        phase_index = ("accumulation", "intensification", "realization").index(phase)
        days = [week_index * 7 + (weekday - 1) for weekday in weekdays]
        planned: list[tuple[int, int, str, list[str]]] = []
        for weekday, day in zip(weekdays, days, strict=True):
            focus = rotation[session_counter % len(rotation)]
            session_counter += 1
            forbidden = prev_main if prev_day == day - 1 else set()
            if day + 1 in days and focus in ("full", "full_b"):
                focus = "upper" if forbidden & set(LOWER_PATTERNS) else "lower"  # leave tomorrow something to do
            patterns = _session_patterns(focus, forbidden, request, candidates)
            if deload:
                main = [p for p in patterns if p in MAIN_PATTERNS]
                if len(main) > 2:
                    patterns.remove(main[-1])
            planned.append((weekday, day, focus, patterns))
            prev_day, prev_main = day, {p for p in patterns if p in MAIN_PATTERNS}
        main_flags = [any(p in MAIN_PATTERNS for p in item[3]) for item in planned]
        share = _HIGH_SHARE[phase] if request.experience != "beginner" else _HIGH_SHARE[phase] / 2
        wanted_high = min(int(per_week * share + 0.5) if per_week >= 3 else 0, _MAX_HIGH[request.experience])
        if request.experience == "beginner" and phase != "accumulation" and per_week >= 3:
            wanted_high = max(wanted_high, 1)
        intensities = _assign_intensities(days, main_flags, wanted_high, deload, last_high_day)
        sessions = []
        for (weekday, day, _focus, patterns), intensity in zip(planned, intensities, strict=True):
            if intensity == "high":
                last_high_day = day
            key = (phase, tuple(patterns), intensity, deload)
            if key not in shapes:  # a phase repeats its session shapes week after week: build each once
                shapes[key] = _build_exercises(picker, request, patterns, phase, phase_index, intensity, deload)
            exercises = [dict(exercise) for exercise in shapes[key]]
            if not exercises:
                continue
            session: dict[str, Any] = {
                "weekday": weekday,
                "focus": _focus_label(patterns),
                "intensity": intensity,
                "durationMinutes": _duration_minutes(exercises),
                "exercises": exercises,
            }
            if start is not None:
                session["date"] = (start + timedelta(days=day)).isoformat()
            sessions.append(session)
        microcycles.append({"week": week, "phase": phase, "deload": deload, "sessions": sessions})

    if not any(cycle["sessions"] for cycle in microcycles):
        raise GenerationError("no published movement of the library fits this athlete (equipment, injuries, level)")
    phase_list: list[dict[str, Any]] = []
    for week_index, phase in enumerate(phases):
        if not phase_list or phase_list[-1]["name"] != phase:
            phase_list.append({"name": phase, "weeks": []})
        phase_list[-1]["weeks"].append(week_index + 1)
    plan: dict[str, Any] = {
        "generator": GENERATOR_VERSION,
        "seed": request.seed,
        "durationWeeks": request.duration_weeks,
        "sessionsPerWeek": per_week,
        "weekdays": list(weekdays),
        "phases": phase_list,
        "microcycles": microcycles,
    }
    if start is not None:
        plan["startDate"] = start.isoformat()
    return plan


def _build_exercises(
    picker: _Picker,
    request: PlanRequest,
    patterns: list[str],
    phase: str,
    phase_index: int,
    intensity: str,
    deload: bool,
) -> list[dict[str, Any]]:
    exercises = []
    slot_of: dict[str, int] = {}
    for pattern in patterns:
        slot = slot_of.get(pattern, 0)
        slot_of[pattern] = slot + 1
        movement = picker.pick(phase, pattern, slot)
        if movement is None:
            continue
        base = _MAIN_SETS[request.experience] if pattern in MAIN_PATTERNS else 2
        if pattern in MAIN_PATTERNS and phase == "accumulation" and request.experience == "advanced":
            base += 1
        sets = max(1, base // 2) if deload else base
        exercises.append(
            _exercise(
                movement,
                sets=sets,
                goal=request.goals[0],
                phase_index=phase_index,
                intensity=intensity,
                deload=deload,
            )
        )
    return exercises


def _focus_label(patterns: list[str]) -> str:
    lower = any(p in LOWER_PATTERNS for p in patterns)
    upper = any(p in UPPER_PATTERNS for p in patterns)
    if lower and upper:
        return "full body strength"
    if lower:
        return "lower body strength"
    if upper:
        return "upper body strength"
    if "conditioning" in patterns:
        return "conditioning"
    if "mobility" in patterns:
        return "mobility"
    return "core and carries"
