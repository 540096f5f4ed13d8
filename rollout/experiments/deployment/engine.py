"""The deployment engine behind ``manage.py deploy``: validate every file, diff, back up, apply, roll back.

Promises:
- validation runs on every file first (cross-file checks included); any problem → ``DeploymentInvalid`` listing
  each one as ``file: path: reason``, and nothing is applied;
- a deployment that changes something first stores the export of every section (a ``Deployment`` row), then
  applies all changes in one transaction through the sections' services (flag history, experiment services,
  alert-rule and routing writes); a failure half-way rolls all of it back;
- a second run with the same files changes nothing (and stores nothing);
- ``deployment_rollback`` undoes the newest not-yet-rolled-back deployment: every item it updated is put back
  to its state in the backup, every item it created is removed; nothing else is touched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from core.errors import ServiceError
from core.models import User
from rollout.experiments.deployment import (  # noqa: F401  (importing registers the built-in sections)
    experiments_section,
    flags_section,
    monitoring_section,
)
from rollout.experiments.deployment.sections import Section, State, registered_sections, section_for_action
from rollout.experiments.models import Deployment

DEPLOY_ALL = "deploy-all"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(top)'}: {self.reason}"


class DeploymentInvalid(ServiceError):
    def __init__(self, problems: list[Problem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__("deployment_invalid", f"{len(problems)} problem(s); nothing was applied:\n{lines}")
        self.problems = problems


@dataclass(frozen=True)
class Change:
    section: str
    name: str
    kind: str  # create | update | delete
    fields: list[str]
    before: State | None
    after: State | None


@dataclass
class DeployReport:
    action: str
    sections: list[str]
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    deployment_id: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _sections(action: str) -> list[Section]:
    if action == DEPLOY_ALL:
        return registered_sections()
    section = section_for_action(action)
    if section is None:
        raise ServiceError("unknown_action", f"Unknown deploy action {action!r}.")
    return [section]


def _load(config_dir: Path, section: Section) -> tuple[Any, list[Problem]]:
    path = config_dir / section.filename
    label = str(Path(config_dir.name) / section.filename)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, [Problem(label, "", "file not found")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Problem(label, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    return data if data is not None else {}, []


def load_and_validate(config_dir: Path, sections: list[Section]) -> dict[str, Any]:
    """Every section's parsed file (all files are read for cross-file checks); raises DeploymentInvalid."""
    problems: list[Problem] = []
    context: dict[str, Any] = {}
    for section in registered_sections():
        if (config_dir / section.filename).exists() or section in sections:
            data, load_problems = _load(config_dir, section)
            problems.extend(load_problems)
            if data is not None:
                context[section.name] = data
    for section in sections:
        if section.name in context:
            label = str(Path(config_dir.name) / section.filename)
            problems.extend(
                Problem(label, path, reason) for path, reason in section.validate(context[section.name], context)
            )
    if problems:
        raise DeploymentInvalid(problems)
    return context


def _diff(section: Section, wanted: dict[str, State], current: dict[str, State]) -> list[Change]:
    changes = []
    for name, state in wanted.items():
        before = current.get(name)
        if before == state:
            continue
        fields = sorted(k for k in state if before is None or before.get(k) != state.get(k))
        changes.append(Change(section.name, name, "create" if before is None else "update", fields, before, state))
    return changes


def _digest(config_dir: Path, sections: list[Section]) -> str:
    digest = hashlib.sha256()
    for section in sections:
        path = config_dir / section.filename
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def export_all() -> dict[str, dict[str, State]]:
    """Everything every section manages, as plain JSON (the backup and the before/after export)."""
    return {section.name: section.export() for section in registered_sections()}


def deployment_run(*, config_dir: Path, action: str, actor: User | None, dry_run: bool = False) -> DeployReport:
    """Validate, diff and (unless ``dry_run``) apply the files of ``action``'s sections."""
    sections = _sections(action)
    context = load_and_validate(config_dir, sections)
    report = DeployReport(action=action, sections=[s.name for s in sections], dry_run=dry_run)
    with transaction.atomic():
        for section in sections:
            report.changes.extend(_diff(section, section.desired(context[section.name]), section.export()))
        if dry_run or not report.changes:
            return report
        deployment = Deployment.objects.create(
            action=Deployment.Action.DEPLOY,
            sections=report.sections,
            actor=actor,
            backup=export_all(),
            files_digest=_digest(config_dir, sections),
        )
        by_name = {s.name: s for s in sections}
        for change in report.changes:
            by_name[change.section].apply(change.name, change.after, actor)
        deployment.changes = [asdict(c) for c in report.changes]
        deployment.save(update_fields=["changes"])
        report.deployment_id = deployment.pk
    return report


def deployment_rollback(*, actor: User | None, dry_run: bool = False) -> DeployReport:
    """Restore the backup of the newest deployment not yet rolled back (sections in reverse order)."""
    with transaction.atomic():
        target = (
            Deployment.objects.select_for_update()
            .filter(action=Deployment.Action.DEPLOY, rolled_back=False)
            .order_by("-created_at", "-id")
            .first()
        )
        if target is None:
            raise ServiceError("nothing_to_roll_back", "No deployment to roll back.")
        sections = [s for s in reversed(registered_sections()) if s.name in target.sections]
        report = DeployReport(action="rollback", sections=[s.name for s in sections], dry_run=dry_run)
        # Only what that deployment touched goes back: created items are removed, updated ones restored.
        touched = [(c["section"], c["name"], c["kind"]) for c in target.changes]
        for section in sections:
            current = section.export()
            for section_name, name, kind in touched:
                if section_name != section.name:
                    continue
                before = current.get(name)
                after = None if kind == "create" else target.backup.get(section.name, {}).get(name)
                if before != after:
                    fields = sorted(set(before or {}) | set(after or {}))
                    fields = [f for f in fields if (before or {}).get(f) != (after or {}).get(f)]
                    change_kind = "delete" if after is None else ("create" if before is None else "update")
                    report.changes.append(Change(section.name, name, change_kind, fields, before, after))
        if dry_run:
            return report
        rollback = Deployment.objects.create(
            action=Deployment.Action.ROLLBACK, sections=report.sections, actor=actor, backup=export_all()
        )
        by_name = {s.name: s for s in sections}
        for change in report.changes:
            by_name[change.section].apply(change.name, change.after, actor)
        rollback.changes = [asdict(c) for c in report.changes]
        rollback.save(update_fields=["changes"])
        target.rolled_back = True
        target.save(update_fields=["rolled_back"])
        report.deployment_id = rollback.pk
    return report


def deployment_status(*, config_dir: Path) -> dict[str, Any]:
    """Per section: items in the files that are in sync, drifted (with fields) or missing; the last deployments."""
    sections = registered_sections()
    context = load_and_validate(config_dir, sections)
    result: dict[str, Any] = {"checked_at": timezone.now().isoformat(), "sections": {}, "deployments": []}
    for section in sections:
        changes = _diff(section, section.desired(context[section.name]), section.export())
        wanted = section.desired(context[section.name])
        result["sections"][section.name] = {
            "file": section.filename,
            "in_files": len(wanted),
            "in_sync": sorted(set(wanted) - {c.name for c in changes}),
            "drifted": {c.name: c.fields for c in changes if c.kind == "update"},
            "missing": sorted(c.name for c in changes if c.kind == "create"),
        }
    for deployment in Deployment.objects.select_related("actor")[:10]:
        result["deployments"].append(
            {
                "id": deployment.pk,
                "action": deployment.action,
                "sections": deployment.sections,
                "at": deployment.created_at.isoformat(),
                "by": deployment.actor.username if deployment.actor else None,
                "changes": len(deployment.changes),
                "rolled_back": deployment.rolled_back,
            }
        )
    return result


def deployment_report(*, config_dir: Path, output: Path) -> Path:
    """Write the status as JSON (``.json``) or Markdown (anything else) to ``output``."""
    status = deployment_status(config_dir=config_dir)
    if output.suffix == ".json":
        output.write_text(json.dumps(status, indent=2, sort_keys=True))
        return output
    lines = ["# Stamina deployment report", "", f"Checked at {status['checked_at']}.", ""]
    lines += ["| section | file | in files | in sync | drifted | missing |", "|---|---|---|---|---|---|"]
    for name, s in status["sections"].items():
        counts = f"{s['in_files']} | {len(s['in_sync'])} | {len(s['drifted'])} | {len(s['missing'])}"
        lines.append(f"| {name} | `configs/{s['file']}` | {counts} |")
    for name, s in status["sections"].items():
        for item, fields in s["drifted"].items():
            lines.append(f"- {name} `{item}` differs from the file in: {', '.join(fields)}")
        for item in s["missing"]:
            lines.append(f"- {name} `{item}` is in the file but not deployed")
    lines += ["", "## Recent deployments", "", "| id | action | sections | at | by | changes | rolled back |"]
    lines.append("|---|---|---|---|---|---|---|")
    for d in status["deployments"]:
        who = d["by"] or "-"
        undone = "yes" if d["rolled_back"] else "no"
        sections = ", ".join(d["sections"])
        lines.append(f"| {d['id']} | {d['action']} | {sections} | {d['at']} | {who} | {d['changes']} | {undone} |")
    output.write_text("\n".join(lines) + "\n")
    return output
