"""Automatic triage (pure; no Django): sentiment with VADER, priority and category rules, keywords.

Every decision names the rule that made it, so ops can see why an item is critical and override it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

NEGATIVE_AT = -0.05  # VADER's published thresholds for the compound score
POSITIVE_AT = 0.05
ACCURACY_REPORTS_AT_SCALE = 5  # accuracy complaints in 24 h that make wrong numbers a critical matter

_WORD = re.compile(r"[a-z][a-z0-9'_-]+")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "app",
        "please",
        "really",
        "also",
        "get",
        "got",
        "still",
        "even",
        "one",
        "like",
        "use",
        "using",
        "used",
        "make",
        "makes",
        "made",
        "would",
        "could",
        "thing",
        "things",
        "since",
        "every",
        "always",
        "never",
        "lot",
        "want",
        "wish",
        "hi",
        "hello",
        "thanks",
        "thank",
    ]
)

# Priority rules, first match wins (critical, then high, medium, low).
_CRITICAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "data_loss",
        re.compile(
            r"\b(lost|los(e|ing)|deleted|disappear\w*|gone|wiped|missing)\b.{0,40}\b(data|activit\w*|workouts?|history|"
            r"sessions?|rides?|runs?)\b|\b(data|activit\w*|workouts?|history|sessions?|rides?|runs?)\b.{0,40}"
            r"\b(lost|deleted|disappeared|gone|wiped|missing|vanished)\b|\bdata loss\b",
            re.I | re.S,
        ),
    ),
    ("crash", re.compile(r"\bcrash\w*|\bfreez\w*|\bwon'?t (open|start|load)\b|\bhangs?\b|\b500\b", re.I)),
    (
        "security",
        re.compile(r"\b(hack\w*|security|breach|leak\w*|password|someone else'?s|privacy|unauthori[sz]ed)\b", re.I),
    ),
)
_CATEGORY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "accuracy",
        re.compile(
            r"\b(trimp|wrong|inaccurate|incorrect|accura\w*|heart ?rate|hr|numbers?|values?|garmin|"
            r"strava|polar|trainingpeaks|load|fitness|fatigue|score)\b",
            re.I,
        ),
    ),
    (
        "performance",
        re.compile(r"\b(slow\w*|lag\w*|timeouts?|loading|takes (forever|ages)|latency|speed|sluggish)\b", re.I),
    ),
    ("reliability", re.compile(r"\b(crash\w*|errors?|fail\w*|broken|bug\w*|down|outage|freez\w*)\b", re.I)),
    ("usability", re.compile(r"\b(confus\w*|hard to|can'?t find|unclear|ui|ux|button|menu|layout|navigat\w*)\b", re.I)),
    ("documentation", re.compile(r"\b(docs?|documentation|help page|explain\w*|manual|guide|tutorial)\b", re.I)),
)
_TYPE_CATEGORY = {
    "performance_issue": "performance",
    "usability_issue": "usability",
    "bug_report": "reliability",
}


@dataclass(frozen=True)
class TriageInput:
    type: str
    category: str  # "" when the user left it empty
    message: str
    rating: int | None
    accuracy_reports_24h: int = 0


@dataclass(frozen=True)
class TriageResult:
    sentiment: str
    sentiment_score: float
    priority: str
    priority_rule: str
    category: str
    category_rule: str
    keywords: tuple[str, ...]
    topic: str
    acknowledgement: str


# Our domain's words in VADER's lexicon (valence −4..+4). Neutral here: words VADER scores as feelings that
# are plain nouns in training software ("heart rate", a FIT file, "fitness", "please add", a "value"), which
# made "The app crashes every time I upload a FIT file" positive. Negative: what a complaint about this app
# says (a crash, a blank chart, a laggy screen, a null value, duplicated activities).
DOMAIN_LEXICON: dict[str, float] = {
    "heart": 0.0,
    "fit": 0.0,
    "fitness": 0.0,
    "please": 0.0,
    "support": 0.0,
    "value": 0.0,
    "free": 0.0,
    "like": 0.0,
    "power": 0.0,
    "crashes": -2.2,
    "crashed": -2.2,
    "crashing": -2.2,
    "blank": -1.5,
    "laggy": -1.8,
    "lag": -1.5,
    "freezes": -2.0,
    "cluttered": -1.5,
    "null": -1.2,
    "duplicate": -1.2,
    "duplicates": -1.2,
    "doubled": -1.2,
    "drains": -1.5,
    "inaccurate": -2.0,
    "incorrect": -2.0,
    "impossible": -1.5,
    "fails": -2.0,
    "failing": -2.0,
    "stuck": -1.5,
    "redesign": 0.0,
}
# Complaint phrases VADER cannot see word by word; a match moves the score down by COMPLAINT_SHIFT.
COMPLAINT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"\b(takes?|took) (forever|ages)\b|\btimes? ?out\b|\b(stopped|doesn'?t|does not|isn'?t|not) work\w*|"
        r"\bmakes? no sense\b|\bcounted (twice|two times|three times|\w+ times)\b|\bkeeps? (logging|crashing|"
        r"freezing)\b|\b(logging|logs|logged) me out\b|\bplease fix\b|\btoo (small|slow|low|high)\b|"
        r"\bseems? off\b|\bwas better before\b|\bgets? (hot|stuck)\b|\bshows? null\b|\b5\d\d error\b",
        re.I,
    ),
)
COMPLAINT_SHIFT = 0.5


@lru_cache(maxsize=1)
def _analyzer():  # type: ignore[no-untyped-def]
    # Not at the top: VADER loads its lexicon on import (~0.3 s); only triage needs it.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(DOMAIN_LEXICON)
    return analyzer


def sentiment_of(text: str) -> tuple[str, float]:
    """VADER's compound score (with our domain lexicon) and its label (positive ≥ 0.05, negative ≤ −0.05,
    else neutral); a complaint phrase (``COMPLAINT_PATTERNS``) lowers the score by ``COMPLAINT_SHIFT``.
    Accuracy on the labelled set in ``feedback/tests/data/labelled_feedback.json`` is in docs/feedback.md."""
    score = float(_analyzer().polarity_scores(text)["compound"])
    if any(pattern.search(text) for pattern in COMPLAINT_PATTERNS):
        score = max(-1.0, min(score, 0.3) - COMPLAINT_SHIFT)
    if score >= POSITIVE_AT:
        return "positive", score
    if score <= NEGATIVE_AT:
        return "negative", score
    return "neutral", score


def category_of(feedback_type: str, category: str, message: str) -> tuple[str, str]:
    """The user's category if given; else the first category whose pattern matches; else by type; else other."""
    if category:
        return category, "user"
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(message):
            return name, f"keyword:{name}"
    if feedback_type in _TYPE_CATEGORY:
        return _TYPE_CATEGORY[feedback_type], f"type:{feedback_type}"
    return "other", "default"


def priority_of(item: TriageInput, *, category: str, sentiment: str, score: float) -> tuple[str, str]:
    for name, pattern in _CRITICAL_PATTERNS:
        if pattern.search(item.message):
            return "critical", name
    if category == "accuracy" and item.accuracy_reports_24h + 1 >= ACCURACY_REPORTS_AT_SCALE:
        return "critical", "wrong_numbers_at_scale"
    negative = sentiment == "negative" and score <= -0.5
    low_rating = item.rating is not None and item.rating <= 2
    if item.type in ("bug_report", "performance_issue") and (negative or low_rating):
        return "high", "problem_with_strong_negative"
    if item.type == "satisfaction_survey" and item.rating == 1:
        return "high", "very_unsatisfied"
    if item.type in ("bug_report", "performance_issue", "usability_issue"):
        return "medium", "problem_report"
    if negative or low_rating:
        return "medium", "negative_feedback"
    return "low", "default"


def keywords_of(message: str, limit: int = 5) -> tuple[str, ...]:
    words = [w.strip("'_-") for w in _WORD.findall(message.lower())]
    counts = Counter(w for w in words if len(w) > 2 and w not in STOPWORDS)
    return tuple(word for word, _ in counts.most_common(limit))


def acknowledgement_for(feedback_type: str, priority: str, team: str | None = None) -> str:
    """What the user is told. It promises only what happens: the item is queued for the routed team (or the
    triage queue when no routing rule matches) in the ops console; nobody is paged."""
    kind = feedback_type.replace("_", " ")
    queue = f"the {team} team's queue" if team else "our triage queue"
    if priority == "critical":
        return (
            f"Thank you — your {kind} is marked critical and is at the top of {queue}; "
            "a person will look at it within hours."
        )
    if feedback_type == "satisfaction_survey":
        return "Thank you for rating Stamina — every answer is read."
    return f"Thank you — we received your {kind}. It is in {queue}; we acknowledge every report within 24 hours."


def triage(item: TriageInput) -> TriageResult:
    sentiment, score = sentiment_of(item.message)
    category, category_rule = category_of(item.type, item.category, item.message)
    priority, priority_rule = priority_of(item, category=category, sentiment=sentiment, score=score)
    keywords = keywords_of(item.message)
    return TriageResult(
        sentiment=sentiment,
        sentiment_score=score,
        priority=priority,
        priority_rule=priority_rule,
        category=category,
        category_rule=category_rule,
        keywords=keywords,
        topic=keywords[0] if keywords else "",
        acknowledgement=acknowledgement_for(item.type, priority),
    )
