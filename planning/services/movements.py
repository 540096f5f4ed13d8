"""Movement library writes: imports (staging → validate all → apply all or nothing), publish, archive.

Every change writes a ``movement_audit_log`` row; an identical re-import changes nothing and writes none.
All functions take ``using`` (a database alias) so ``import_movements --dsn`` can seed another database.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError, ServiceError
from planning.engine.records import FIELDS, map_free_exercise, normalize_record
from planning.models import Movement, MovementAuditLog, MovementImportRun, MovementStaging
from planning.monitoring import record_library_size

logger = logging.getLogger(__name__)

FORMATS = ("stamina", "free-exercise-db")
MAX_REPORTED_PROBLEMS = 500
_COMPARED = tuple(name for name in FIELDS if name != "movement_id")
_TRANSITIONS = {
    "published": {"draft", "archived"},  # target ← allowed sources
    "archived": {"draft", "published"},
}


@dataclass(frozen=True)
class ImportProblem:
    index: int
    field: str
    message: str
    movement_id: str = ""

    def __str__(self) -> str:
        who = f" ({self.movement_id})" if self.movement_id else ""
        return f"record {self.index}{who}: {self.field}: {self.message}"


@dataclass(frozen=True)
class ImportReport:
    run_id: int
    status: str
    records: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    published: int
    problems: tuple[ImportProblem, ...] = ()
    per_pattern: dict[str, dict[str, int]] = field(default_factory=dict)
    unplaced: tuple[str, ...] = ()
    database: str = "default"

    def summary_lines(self) -> list[str]:
        """One line per pattern, then the totals (the command prints these)."""
        lines = [
            f"  {pattern:<16} " + " ".join(f"{key}={counts.get(key, 0)}" for key in ("created", "updated", "unchanged"))
            for pattern, counts in sorted(self.per_pattern.items())
        ]
        if self.unplaced:
            lines.append(f"  not placed: {len(self.unplaced)} (no pattern could be derived)")
        lines.append(
            f"Movement import {self.status}: created={self.created} updated={self.updated} unchanged={self.unchanged}"
            f" rejected={self.rejected} published={self.published} (run {self.run_id}, database {self.database})"
        )
        return lines


@dataclass(frozen=True)
class LoadedFile:
    records: list[Any]
    unplaced: tuple[str, ...]


def movements_load_file(*, path: Path, fmt: str) -> LoadedFile:
    """Read an import file: the Stamina format (``{"movements": […]}`` or a list) or free-exercise-db's list."""
    if fmt not in FORMATS:
        raise ServiceError("unknown_format", f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ServiceError("file_not_found", f"{path} does not exist.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError("invalid_json", f"{path} is not valid JSON: {exc}") from exc
    items = data.get("movements") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ServiceError("invalid_file", f"{path}: expected a list of records or an object with 'movements'.")
    if fmt == "stamina":
        return LoadedFile(records=items, unplaced=())
    records: list[Any] = []
    unplaced: list[str] = []
    for item in items:
        mapped = map_free_exercise(item) if isinstance(item, dict) else item
        if mapped is None:
            unplaced.append(str(item.get("name")))
        else:
            records.append(mapped)
    return LoadedFile(records=records, unplaced=tuple(unplaced))


def _current(movement: Movement) -> dict[str, Any]:
    values = {name: getattr(movement, name) for name in _COMPARED}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = sorted(value)
    return values


def _validate(records: list[Any], using: str) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    problems: list[ImportProblem] = []
    normalized: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for index, raw in enumerate(records):
        record, record_problems = normalize_record(raw)
        key = record.get("movement_id", "")
        problems.extend(ImportProblem(index, f, m, key) for f, m in record_problems)
        if key and key in seen_ids:
            problems.append(ImportProblem(index, "movement_id", f"duplicate of record {seen_ids[key]}", key))
        name_key = record.get("name", "").lower()
        if name_key and name_key in seen_names:
            problems.append(ImportProblem(index, "name", f"duplicate of record {seen_names[name_key]}", key))
        seen_ids.setdefault(key, index)
        seen_names.setdefault(name_key, index)
        normalized.append(record)
    names = {r["name"].lower(): i for i, r in enumerate(normalized) if r.get("name")}
    for movement_id, name in Movement.objects.using(using).values_list("movement_id", "name").iterator():
        index = names.get(name.lower())
        if index is not None and normalized[index]["movement_id"] != movement_id:
            problems.append(
                ImportProblem(index, "name", f"{name!r} already belongs to movement {movement_id}", movement_id)
            )
    return normalized, problems


def _target_status(record: dict[str, Any], current: str | None, publish: bool) -> str:
    if publish and record.get("status") in (None, "published", "draft"):
        return "published"
    return str(record.get("status") or current or "draft")


def movements_import(
    *,
    records: list[Any],
    source_file: str,
    fmt: str,
    publish: bool = False,
    dry_run: bool = False,
    actor: str = "",
    unplaced: tuple[str, ...] = (),
    using: str = "default",
) -> ImportReport:
    """Stage, validate every record, then apply all of them in one transaction — or none when any is bad.

    New movements are ``imported`` (draft, or published with ``publish``/their ``status``); a changed record is
    ``updated`` with its diff; an identical one is left alone and writes no audit row.
    """
    run = MovementImportRun.objects.using(using).create(
        source_file=source_file[:500], format=fmt, publish=publish, dry_run=dry_run, actor=actor, records=len(records)
    )
    MovementStaging.objects.using(using).bulk_create(
        [
            MovementStaging(
                import_run_id=run.pk,
                record_index=i,
                movement_id=str(raw.get("movement_id", ""))[:200] if isinstance(raw, dict) else "",
                payload=raw if isinstance(raw, dict) else {"value": raw},
            )
            for i, raw in enumerate(records)
        ],
        batch_size=500,
    )
    normalized, problems = _validate(records, using)
    existing = {
        m.movement_id: m
        for m in Movement.objects.using(using).filter(movement_id__in=[r.get("movement_id") for r in normalized])
    }
    for index, record in enumerate(normalized):
        movement = existing.get(record.get("movement_id", ""))
        if movement is not None and record.get("status") == "draft" and movement.status != "draft":
            problems.append(
                ImportProblem(
                    index, "status", f"cannot return a {movement.status} movement to draft", movement.movement_id
                )
            )
    per_pattern: dict[str, Counter[str]] = defaultdict(Counter)
    if problems:
        report = _finish(run, "rejected", normalized, problems, per_pattern, unplaced, (0, 0, 0, 0), using)
        logger.warning(
            "Movement import rejected: %s problem(s) in %s, first: %s", len(problems), source_file, problems[0]
        )
        return report

    now = timezone.now()
    to_create: list[Movement] = []
    to_update: list[Movement] = []
    audit: list[tuple[Movement, str, dict[str, Any]]] = []  # rows are built once the new movements have pks
    published = 0
    for record in normalized:
        movement = existing.get(record["movement_id"])
        target = _target_status(record, movement.status if movement else None, publish)
        values = {name: record[name] for name in _COMPARED}
        if movement is None:
            movement = Movement(movement_id=record["movement_id"], status=target, **values)
            if target == "published":
                movement.published_at = now
            to_create.append(movement)
            audit.append((movement, "imported", {k: [None, v] for k, v in values.items()}))
            if target != "draft":
                audit.append((movement, target, {"status": ["draft", target]}))
                published += target == "published"
            per_pattern[record["pattern"]]["created"] += 1
            continue
        before = _current(movement)
        diff = {k: [before[k], values[k]] for k in _COMPARED if before[k] != values[k]}
        status_changed = target != movement.status
        if diff:
            for key, (_, new) in diff.items():
                setattr(movement, key, new)
            audit.append((movement, "updated", diff))
        if status_changed:
            if movement.status not in _TRANSITIONS.get(target, set()):
                raise ServiceError("invalid_transition", f"{movement.movement_id}: {movement.status} → {target}")
            audit.append((movement, target, {"status": [movement.status, target]}))
            movement.status = target
            if target == "published":
                movement.published_at = now
                published += 1
        if diff or status_changed:
            movement.updated_at = now
            to_update.append(movement)
            per_pattern[record["pattern"]]["updated"] += 1
        else:
            per_pattern[record["pattern"]]["unchanged"] += 1
    counts = (
        len(to_create),
        len(to_update),
        len(normalized) - len(to_create) - len(to_update),
        published,
    )
    if dry_run:
        return _finish(run, "dry_run", normalized, [], per_pattern, unplaced, counts, using)
    with transaction.atomic(using=using):
        Movement.objects.using(using).bulk_create(to_create, batch_size=500)
        if to_update:
            Movement.objects.using(using).bulk_update(
                to_update, [*_COMPARED, "status", "published_at", "updated_at"], batch_size=500
            )
        MovementAuditLog.objects.using(using).bulk_create(  # bulk_create set the pks (PostgreSQL, SQLite ≥ 3.35)
            [
                MovementAuditLog(
                    movement_id=movement.pk,
                    movement_key=movement.movement_id,
                    action=action,
                    actor=actor,
                    import_run_id=run.pk,
                    diff=diff,
                )
                for movement, action, diff in audit
            ],
            batch_size=500,
        )
        report = _finish(run, "applied", normalized, [], per_pattern, unplaced, counts, using)
    if to_create or to_update:
        record_library_size(using=using)
    logger.info("%s", report.summary_lines()[-1])
    return report


def _finish(
    run: MovementImportRun,
    status: str,
    normalized: list[dict[str, Any]],
    problems: list[ImportProblem],
    per_pattern: dict[str, Counter[str]],
    unplaced: tuple[str, ...],
    counts: tuple[int, int, int, int],
    using: str,
) -> ImportReport:
    created, updated, unchanged, published = counts
    rejected = len({p.index for p in problems})
    if problems:  # the whole file is refused: nothing of it counts as created/updated/unchanged
        created = updated = unchanged = published = 0
        for index in sorted({p.index for p in problems}):
            per_pattern[normalized[index].get("pattern") or "unknown"]["rejected"] += 1
    run.status = status
    run.created, run.updated, run.unchanged, run.rejected = created, updated, unchanged, rejected
    run.finished_at = timezone.now()
    run.report = {
        "problems": [
            {"index": p.index, "field": p.field, "message": p.message, "movement_id": p.movement_id}
            for p in problems[:MAX_REPORTED_PROBLEMS]
        ],
        "problem_count": len(problems),
        "per_pattern": {k: dict(v) for k, v in sorted(per_pattern.items())},
        "unplaced": list(unplaced),
        "published": published,
    }
    run.save(using=using)
    MovementStaging.objects.using(using).filter(import_run=run).delete()
    return ImportReport(
        run_id=run.pk,
        status=status,
        records=len(normalized),
        created=created,
        updated=updated,
        unchanged=unchanged,
        rejected=rejected,
        published=published,
        problems=tuple(problems),
        per_pattern={k: dict(v) for k, v in per_pattern.items()},
        unplaced=unplaced,
        database=using,
    )


def _transition(*, movement_id: str, target: str, actor: str, reason: str, using: str) -> Movement:
    with transaction.atomic(using=using):
        movement = Movement.objects.using(using).select_for_update().filter(movement_id=movement_id).first()
        if movement is None:
            raise NotFoundError("movement_not_found", f"Movement {movement_id!r} was not found.")
        if movement.status == target:
            return movement
        if movement.status not in _TRANSITIONS[target]:
            raise ServiceError("invalid_transition", f"A {movement.status} movement cannot become {target}.")
        before = movement.status
        movement.status = target
        if target == "published":
            movement.published_at = timezone.now()
        movement.save(using=using, update_fields=["status", "published_at", "updated_at"])
        MovementAuditLog.objects.using(using).create(
            movement=movement,
            movement_key=movement.movement_id,
            action=target,
            actor=actor,
            diff={"status": [before, target]},
            reason=reason,
        )
        transaction.on_commit(lambda: record_library_size(using=using), using=using)
        return movement


def movement_publish(*, movement_id: str, actor: str, reason: str = "", using: str = "default") -> Movement:
    """draft/archived → published, with an audit row (a published movement is left as it is)."""
    return _transition(movement_id=movement_id, target="published", actor=actor, reason=reason, using=using)


def movement_archive(*, movement_id: str, actor: str, reason: str = "", using: str = "default") -> Movement:
    """draft/published → archived, with an audit row; archived movements are never planned."""
    return _transition(movement_id=movement_id, target="archived", actor=actor, reason=reason, using=using)


def movements_dump(*, using: str = "default") -> dict[str, Any]:
    """The whole library in the Stamina import format (with ``status``), ordered by movement id."""
    movements = []
    for movement in Movement.objects.using(using).order_by("movement_id"):
        movements.append({"movement_id": movement.movement_id, **_current(movement), "status": movement.status})
    return {"format": "stamina-movements", "version": 1, "movements": movements}
