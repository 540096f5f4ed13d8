"""Process-level metrics (memory) and the metrics retention purge."""

from __future__ import annotations

import os
import resource

from rollout.monitoring.recorder import record


def rss_megabytes() -> float:
    """Current resident set size of this process in MB (peak RSS where /proc is unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def record_process_memory(role: str) -> None:
    record("process.rss_mb", rss_megabytes(), role=role)
