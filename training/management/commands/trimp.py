"""Score one activity file from the command line (no database): ``manage.py trimp FILE --rest R --max M``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.engine import DEFAULT_MAX_GAP_S, HRProfile, TrimpError
from training.services import file_score


class Command(BaseCommand):
    help = "Compute TRIMP for a FIT, TCX, GPX or JSON-stream file with the given heart-rate profile."
    requires_system_checks: list[str] = []  # pure: no database, no URLs

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--rest", type=float, required=True, help="Resting HR (bpm).")
        parser.add_argument("--max", type=float, required=True, help="Max HR (bpm).")
        parser.add_argument("--sex", choices=["male", "female", "unspecified"], default="unspecified")
        parser.add_argument("--threshold", type=float, default=None, help="Threshold HR (bpm), recorded only.")
        parser.add_argument("--vt1", type=float, default=None, help="First ventilatory threshold HR (bpm).")
        parser.add_argument("--vt2", type=float, default=None, help="Second ventilatory threshold HR (bpm).")
        parser.add_argument("--method", choices=["auto", "stream", "average_hr", "edwards", "lucia"], default="auto")
        parser.add_argument("--max-gap", type=float, default=DEFAULT_MAX_GAP_S, help="Longest credited interval (s).")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            profile = HRProfile(
                rest=options["rest"],
                max=options["max"],
                sex=options["sex"],
                threshold=options["threshold"],
                vt1=options["vt1"],
                vt2=options["vt2"],
            )
            result = file_score(
                data=path.read_bytes(),
                filename=path.name,
                profile=profile,
                method=options["method"],
                max_gap_s=options["max_gap"],
            )
        except TrimpError as exc:
            reason = getattr(exc, "reason", None)
            raise CommandError(f"{exc.code}: {reason + ': ' if reason else ''}{exc.message}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
            return
        self.stdout.write(
            f"TRIMP {result['trimp']:.1f} ({result['method']}" + (f", {result['reason']})" if result["reason"] else ")")
        )
        self.stdout.write(
            f"valid samples {result['valid_samples']} of {result['sample_count']}, credited "
            f"{result['credited_seconds']:.0f} s of {result['reference_seconds']:.0f} s"
        )
        for name in ("stream_trimp", "edwards", "lucia"):
            value = result[name]
            self.stdout.write(f"{name}: {'—' if value is None else f'{value:.1f}'}")
        for warning in result["warnings"]:
            self.stdout.write(f"warning: {warning}")
