from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.commands import actor_from, call_service
from rollout import rollouts, selectors
from rollout.rollouts import GateFailed


class Command(BaseCommand):
    help = "Staged rollouts: status, start, advance, set-phase, rollback, rescore, pause, resume."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="Where each rollout (or FLAG's) stands.")
        status.add_argument("flag", nargs="?")
        start = sub.add_parser("start", help="Open a rollout at its plan's first stage.")
        start.add_argument("flag")
        start.add_argument("--plan", help="Comma-separated stage names, or a JSON file of stages.")
        start.add_argument("--policy", choices=["rollback", "pause"], default="rollback")
        start.add_argument("--reason", default="rollout started")
        start.add_argument("--guard", action="append", default=[], help="Alert rule name guarding it (repeatable).")
        start.add_argument("--guard-consecutive", type=int, default=None)
        start.add_argument("--min-dwell", type=int, default=None, help="Minutes at a stage before advancing.")
        advance = sub.add_parser("advance", help="Move to the next stage (gates apply).")
        advance.add_argument("flag")
        advance.add_argument("--reason", required=True)
        advance.add_argument("--override", action="append", default=[], help="Pass this failing gate (repeatable).")
        advance.add_argument("--override-reason", default="", help="Why the overridden gates may be passed.")
        phase = sub.add_parser("set-phase", help="Jump to PHASE (gates apply going forward).")
        phase.add_argument("flag")
        phase.add_argument("phase")
        phase.add_argument("--reason", required=True)
        back = sub.add_parser("rollback", help="One stage back, --to PHASE, or --all (everything off).")
        back.add_argument("flag")
        group = back.add_mutually_exclusive_group()
        group.add_argument("--to", dest="to_phase")
        group.add_argument("--all", action="store_true", dest="everything")
        back.add_argument("--reason", required=True)
        for name in ("pause", "resume"):
            p = sub.add_parser(name)
            p.add_argument("flag")
            p.add_argument("--reason", required=True)
        rescore = sub.add_parser(
            "rescore", help="After a rollback: re-score exactly the results computed under the rolled-back method."
        )
        rescore.add_argument("flag")
        rescore.add_argument("--reason", default=None, help="Required to start the job; without it, only count.")
        for p in (start, advance, phase, back, rescore, *[sub.choices["pause"], sub.choices["resume"]]):
            p.add_argument("--as", dest="actor", default=None, help="Username recorded as the actor.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, "do_" + action.replace("-", "_"))(**options)

    def _report(self, outcome: rollouts.TransitionOutcome) -> None:
        t = outcome.transition
        self.stdout.write(f"{outcome.rollout.flag.name}: {t.kind} {t.from_stage or '-'} → {t.to_stage} ({t.reason})")
        for gate in t.gate_results:
            self.stdout.write(f"  gate {gate['name']}: {'pass' if gate['passed'] else 'FAIL'} — {gate['detail']}")

    def _gated(self, func: Any, **kwargs: Any) -> None:
        try:
            self._report(call_service(func, **kwargs))
        except CommandError as exc:
            cause = exc.__cause__
            if isinstance(cause, GateFailed):
                for gate in cause.details["gates"]:
                    self.stderr.write(
                        f"  gate {gate['name']}: {'pass' if gate['passed'] else 'FAIL'} — {gate['detail']}"
                    )
            raise

    def do_status(self, *, flag: str | None, **options: Any) -> None:
        items = [rollouts.latest_rollout(flag)] if flag else selectors.rollouts_latest()
        if flag and items[0] is None:
            raise CommandError(f"Flag {flag!r} has no rollout.")
        for rollout in items:
            assert rollout is not None
            marks = [
                ("▶ " if i == rollout.current_index else "  ") + name for i, name in enumerate(rollout.stage_names)
            ]
            killed = " · FLAG KILLED (off for everyone until a person lifts the kill)" if rollout.flag.killed else ""
            self.stdout.write(f"{rollout.flag.name} [{rollout.status}, policy {rollout.guard_policy}]{killed}")
            self.stdout.write("  " + "\n  ".join(marks))
            for t in rollout.transitions.order_by("-created_at", "-id")[:5]:
                blocked = " (blocked)" if t.blocked else ""
                self.stdout.write(
                    f"    {t.created_at:%Y-%m-%d %H:%M:%S} {t.kind} {t.from_stage} → {t.to_stage}{blocked}: {t.reason}"
                )

    def do_start(
        self,
        *,
        flag: str,
        plan: str | None,
        policy: str,
        reason: str,
        actor: str | None,
        guard: list[str],
        guard_consecutive: int | None,
        min_dwell: int | None,
        **o: Any,
    ) -> None:
        plan_spec: Any = plan
        if plan and Path(plan).is_file():
            try:
                plan_spec = json.loads(Path(plan).read_text())
            except ValueError as exc:
                raise CommandError(f"{plan} is not valid JSON: {exc}") from exc
        with transaction.atomic():  # a bad guard name leaves no rollout behind
            self._report(
                call_service(
                    rollouts.rollout_start,
                    flag_name=flag,
                    plan=plan_spec,
                    guard_policy=policy,
                    actor=actor_from(actor),
                    reason=reason,
                    source="command",
                )
            )
            if guard or guard_consecutive is not None or min_dwell is not None:
                call_service(
                    rollouts.rollout_configure_guards,
                    flag_name=flag,
                    actor=actor_from(actor),
                    guard_rules=guard or None,
                    guard_consecutive=guard_consecutive,
                    min_dwell_minutes=min_dwell,
                )
                self.stdout.write(f"guards: {', '.join(guard) or '(unchanged)'}")

    def do_advance(
        self, *, flag: str, reason: str, actor: str | None, override: list[str], override_reason: str, **o: Any
    ) -> None:
        current = rollouts.latest_rollout(flag)
        expected = current.current_stage_name if current else None
        self._gated(
            rollouts.rollout_advance,
            flag_name=flag,
            reason=reason,
            actor=actor_from(actor),
            expected_stage=expected,
            source="command",
            override_gates=override,
            override_reason=override_reason,
        )

    def do_set_phase(self, *, flag: str, phase: str, reason: str, actor: str | None, **o: Any) -> None:
        self._gated(
            rollouts.rollout_set_phase,
            flag_name=flag,
            phase=phase,
            reason=reason,
            actor=actor_from(actor),
            source="command",
        )

    def do_rollback(
        self, *, flag: str, to_phase: str | None, everything: bool, reason: str, actor: str | None, **o: Any
    ) -> None:
        self._report(
            call_service(
                rollouts.rollout_rollback,
                flag_name=flag,
                to=to_phase,
                everything=everything,
                reason=reason,
                actor=actor_from(actor),
                source="command",
            )
        )

    def do_rescore(self, *, flag: str, reason: str | None, actor: str | None, **o: Any) -> None:
        offer = rollouts.rollout_rescore_offer(flag)
        if not offer.available:
            self.stdout.write(f"{flag}: nothing to re-score.")
            return
        if not reason:
            self.stdout.write(f"{flag}: {offer.count} {offer.description}; add --reason to re-score them.")
            return
        started = call_service(
            rollouts.rollout_rescore, flag_name=flag, reason=reason, actor=actor_from(actor), source="command"
        )
        self.stdout.write(f"{flag}: re-scoring {started.count} activities in job {started.job_id}.")

    def do_pause(self, *, flag: str, reason: str, actor: str | None, **o: Any) -> None:
        self._report(
            call_service(
                rollouts.rollout_pause, flag_name=flag, reason=reason, actor=actor_from(actor), source="command"
            )
        )

    def do_resume(self, *, flag: str, reason: str, actor: str | None, **o: Any) -> None:
        self._report(
            call_service(
                rollouts.rollout_resume, flag_name=flag, reason=reason, actor=actor_from(actor), source="command"
            )
        )
