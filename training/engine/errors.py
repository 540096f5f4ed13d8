"""Errors raised by the training engine and the activity importers.

Every error carries the project's error ``code`` (see ``docs/training-load.md``):

* ``TRIMP_001`` invalid heart-rate data: unparseable file, no valid sample, no average HR;
* ``TRIMP_002`` missing heart-rate configuration for the activity's date (or VT1/VT2 for Lucia).

The codes ``TRIMP_003``..``TRIMP_005`` (timeout, database, feature flag) belong to the Django service and are
only listed here so that every layer spells them the same way.
"""

from __future__ import annotations

from typing import ClassVar

INVALID_HR_DATA = "TRIMP_001"
MISSING_HR_CONFIG = "TRIMP_002"
CALCULATION_TIMEOUT = "TRIMP_003"
DATABASE_ERROR = "TRIMP_004"
FEATURE_FLAG_ERROR = "TRIMP_005"


class TrimpError(Exception):
    """Base class: ``code`` is one of the ``TRIMP_00x`` codes, ``message`` says what was wrong."""

    default_code: ClassVar[str] = INVALID_HR_DATA

    def __init__(self, code: str | None, message: str) -> None:
        self.code: str = code or self.default_code
        self.message: str = message
        super().__init__(f"{self.code}: {message}")


class HeartRateDataError(TrimpError):
    """``TRIMP_001``: the heart-rate data cannot give a TRIMP (no usable stream and no average HR)."""

    default_code = INVALID_HR_DATA

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_HR_DATA, message)


class HeartRateConfigError(TrimpError):
    """``TRIMP_002``: no (valid) heart-rate profile, or a profile without what a method needs (VT1/VT2)."""

    default_code = MISSING_HR_CONFIG

    def __init__(self, message: str) -> None:
        super().__init__(MISSING_HR_CONFIG, message)
