"""validate_scoring --sample | --file FILE: check scoring payloads against the contract (exit 1 on failure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from planning.engine.contract import SCHEMA_PATH, payload_failures, sample_payload


class Command(BaseCommand):
    help = (
        "Validate one scoring payload or a list (JSON Schema + arithmetic). A file may hold payloads, or plan job "
        "results ({resultData: {scoring}} / {scoring}). Prints each failure with the payload index and JSON path."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--sample", action="store_true", help="Validate the contract's own example.")
        source.add_argument("--file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sample"]:
            payloads: list[Any] = [sample_payload()]
        else:
            try:
                data = json.loads(options["file"].read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from exc
            payloads = data if isinstance(data, list) else [data]
        failed = 0
        for index, payload in enumerate(payloads):
            failures = payload_failures(_unwrap(payload))
            if failures:
                failed += 1
            for path, message in failures:
                self.stderr.write(f"payload {index}: {path}: {message}")
        summary = f"{len(payloads) - failed}/{len(payloads)} payload(s) valid against {SCHEMA_PATH.name}"
        if failed:
            raise CommandError(summary)
        self.stdout.write(summary)


def _unwrap(payload: Any) -> Any:
    """Accept a bare payload, ``{"scoring": …}`` or a plan job (``{"resultData": {"scoring": …}}``)."""
    if isinstance(payload, dict) and "version" not in payload:
        inner = payload.get("resultData", payload)
        if isinstance(inner, dict) and "scoring" in inner:
            return inner["scoring"]
    return payload
