"""Monitoring: record metrics, evaluate threshold rules, raise alerts, guard rollouts.

Other apps use only ``record``, ``increment``, ``timer`` and ``flush`` from here.
"""

from __future__ import annotations

from rollout.monitoring.recorder import flush, increment, record, record_at, timer

__all__ = ["flush", "increment", "record", "record_at", "timer"]
