from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rollout.monitoring.selectors import report


def _since(value: str) -> Any:
    if value.endswith(("h", "d")) and value[:-1].isdigit():
        amount = int(value[:-1])
        return timezone.now() - (timedelta(hours=amount) if value.endswith("h") else timedelta(days=amount))
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = timezone.make_aware(timezone.datetime(day.year, day.month, day.day))
    if parsed is None:
        raise CommandError(f"--since {value!r}: use 24h, 7d, a date (2026-11-01) or an ISO date-time.")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Print which alert rules fired most and which metrics trend worse, with recommendations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="7d", help="24h, 7d, a date or an ISO date-time (default 7d).")

    def handle(self, *args: Any, since: str, **options: Any) -> None:
        start = _since(since)
        if start >= timezone.now():
            raise CommandError("--since must be in the past.")
        data = report(since=start)
        self.stdout.write(f"Performance report since {start:%Y-%m-%d %H:%M} UTC\n")
        self.stdout.write("Alerts opened, by rule and severity:")
        if not data["fired"]:
            self.stdout.write("  none")
        for row in data["fired"]:
            self.stdout.write(f"  {row['n']:>4}  {row['rule__name']} ({row['severity']})")
        self.stdout.write("\nTrends (first half → second half of the period):")
        if not data["trends"]:
            self.stdout.write("  not enough data in both halves")
        for t in data["trends"]:
            arrow = "WORSE" if t["worse"] and abs(t["change"]) >= 0.05 else "ok"
            self.stdout.write(
                f"  {arrow:<5} {t['rule']}: {t['statistic']} {t['before']:.4g} → {t['after']:.4g} ({t['change']:+.0%})"
            )
        self.stdout.write("\nRecommendations:")
        recommendations = []
        for row in data["fired"][:3]:
            if row["n"] >= 3:
                recommendations.append(
                    f"'{row['rule__name']}' opened {row['n']} {row['severity']} alerts: find the cause, or revisit its "
                    "threshold and window if they are noise."
                )
        for t in data["trends"]:
            if t["worse"] and abs(t["change"]) >= 0.2:
                recommendations.append(
                    f"{t['metric']} ({t['statistic']}) moved {t['change']:+.0%} the wrong way: look at what shipped "
                    "in the second half before advancing any rollout it guards."
                )
        for line in recommendations or ["nothing stands out; keep the current thresholds."]:
            self.stdout.write(f"  - {line}")
