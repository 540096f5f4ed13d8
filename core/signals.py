"""Signals other apps may listen to (core imports no other app)."""

from __future__ import annotations

from django.dispatch import Signal

# sent after every job run: kind (str), outcome ("succeeded" | "failed"), seconds (float)
job_finished = Signal()
