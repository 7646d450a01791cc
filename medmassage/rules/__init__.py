"""The cross-record checks, in the order SPEC §6 lists them: references, then
clinical rules. Adding a rule is adding a function here and a test."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import Finding
from ..view import Record, StoreView
from .clinical import (
    check_dates,
    check_license,
    check_pain_scale,
    check_precautions,
    check_referral_limits,
    check_treatment_minutes,
)
from .references import check_goal_references, check_references

Rule = Callable[[StoreView, list[Record]], Iterable[Finding]]

REFERENCE_CHECKS: tuple[Rule, ...] = (check_references, check_goal_references)
CLINICAL_RULES: tuple[Rule, ...] = (
    check_dates,
    check_pain_scale,
    check_treatment_minutes,
    check_license,
    check_precautions,
    check_referral_limits,
)
RULES: tuple[Rule, ...] = (*REFERENCE_CHECKS, *CLINICAL_RULES)
