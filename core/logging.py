"""Logging helpers: request ids for every line, and a size-rotated log file shared by several processes."""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import os
from contextvars import ContextVar
from pathlib import Path
from typing import IO

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """``RotatingFileHandler`` that is safe when web, worker and beat processes write one ``LOG_FILE``.

    Each write holds an exclusive ``flock`` on ``<file>.lock``: only one process rotates, and a process whose
    open file was rotated away by another (a different inode) reopens the new file before writing, so no
    line lands in a rotated backup or is lost. Rotation at ``max_bytes``; ``backup_count`` old files kept
    (``<file>.1`` newest).
    """

    def __init__(self, filename: str, max_bytes: int, backup_count: int, encoding: str = "utf-8") -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding=encoding, delay=True)
        self._lock_path = f"{self.baseFilename}.lock"
        self._lock_file: IO[str] | None = None
        self._lock_pid = 0

    def _lock(self) -> IO[str]:
        # A forked child (Celery prefork) shares the parent's open file description, and so its flock: reopen.
        if self._lock_file is None or self._lock_pid != os.getpid():
            self._lock_file = open(self._lock_path, "a")  # noqa: SIM115 (held for the process' lifetime)
            self._lock_pid = os.getpid()
        return self._lock_file

    def _reopen_if_rotated(self) -> None:
        if self.stream is None:
            return
        try:
            current = os.stat(self.baseFilename).st_ino
        except FileNotFoundError:
            current = -1
        if current != os.fstat(self.stream.fileno()).st_ino:
            self.stream.close()
            self.stream = None  # type: ignore[assignment]  (FileHandler reopens it lazily)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            lock = self._lock()
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._reopen_if_rotated()
                if self.shouldRollover(record):
                    self.doRollover()
                logging.FileHandler.emit(self, record)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        super().close()
        if self._lock_file is not None and self._lock_pid == os.getpid():
            self._lock_file.close()
        self._lock_file = None
