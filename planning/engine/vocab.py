"""The planning vocabulary shared by the generator, the score, the importers and the API (no Django).

Every list here is a closed set that a request or an import record is validated against.
"""

from __future__ import annotations

PATTERNS: tuple[str, ...] = (
    "squat",
    "hinge",
    "horizontal_push",
    "vertical_push",
    "horizontal_pull",
    "vertical_pull",
    "lunge",
    "carry",
    "core",
    "conditioning",
    "mobility",
)
# The main strength patterns: none of them may appear in sessions on two consecutive days (planning.md).
MAIN_PATTERNS: frozenset[str] = frozenset(
    {"squat", "hinge", "lunge", "horizontal_push", "vertical_push", "horizontal_pull", "vertical_pull"}
)
LOWER_PATTERNS: tuple[str, ...] = ("squat", "hinge", "lunge")
UPPER_PATTERNS: tuple[str, ...] = ("horizontal_push", "horizontal_pull", "vertical_push", "vertical_pull")

STATUSES: tuple[str, ...] = ("draft", "published", "archived")
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "expert")
EXPERIENCES: tuple[str, ...] = ("beginner", "intermediate", "advanced")
GOALS: tuple[str, ...] = ("strength", "hypertrophy", "endurance", "power", "mobility", "general_fitness")
INTENSITIES: tuple[str, ...] = ("low", "moderate", "high")
INTENSITY_CLASSES: tuple[str, ...] = INTENSITIES
CONTRAINDICATIONS: tuple[str, ...] = ("knee", "shoulder", "low_back", "hip", "ankle", "wrist", "elbow", "neck")
INJURIES = CONTRAINDICATIONS
EQUIPMENT: tuple[str, ...] = (
    "body_only",
    "barbell",
    "dumbbell",
    "kettlebell",
    "machine",
    "cable",
    "bands",
    "medicine_ball",
    "exercise_ball",
    "foam_roll",
    "ez_bar",
    "pull_up_bar",
    "bench",
    "other",
)
# Always available: an athlete never has to list their own body.
ALWAYS_AVAILABLE: frozenset[str] = frozenset({"body_only"})
MODALITIES: tuple[str, ...] = ("strength", "power", "plyometrics", "conditioning", "mobility")

# Which movement levels each experience may be given (beginners never get expert movements).
LEVELS_FOR_EXPERIENCE: dict[str, tuple[str, ...]] = {
    "beginner": ("beginner", "intermediate"),
    "intermediate": ("beginner", "intermediate"),
    "advanced": ("beginner", "intermediate", "expert"),
}
