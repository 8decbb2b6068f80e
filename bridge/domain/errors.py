"""Errors and refusals of the domain core.

Two kinds of "no": a `DomainError` is raised for input or data that is invalid (an unknown
symbol, a NaN, a malformed table); a `Refusal` is a value returned when a valid request is
turned down by a rule (not enough margin, volume below the minimum). Both carry a stable,
machine-readable `code` and a human `detail`.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(ValueError):
    """Invalid input or rule data; `code` is stable, `detail` explains."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rule said no. Returned, not raised: refusals are ordinary outcomes."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"
