"""The cross-record checks, in the order SPEC §6 lists them: references, clinical
rules, then integrity. Adding a rule is adding a function here, a row in
`registry.REGISTRY` (code, severity, summary; the README table follows it) and a test."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.rules.baseline import check_baselines
from medmassage.rules.billing import check_billing
from medmassage.rules.clinical import (
    check_dates,
    check_license,
    check_pain_scale,
    check_precautions,
    check_referral_limits,
    check_treatment_minutes,
)
from medmassage.rules.codes import check_diagnosis_codes, check_npis
from medmassage.rules.episode import (
    check_intraoral_consent,
    check_minor_consent,
    check_plan_within_referral,
    check_reassess_interval,
)
from medmassage.rules.integrity import (
    check_addendum_targets,
    check_cloned_notes,
    check_late_signatures,
    check_signatures,
    check_unsigned,
)
from medmassage.rules.outcomes import check_outcome_scores
from medmassage.rules.references import check_goal_references, check_references
from medmassage.rules.registry import REGISTRY, RuleInfo, is_registered
from medmassage.rules.sent import check_sent

__all__ = ["REGISTRY", "RULES", "Rule", "RuleInfo", "is_registered"]

Rule = Callable[[StoreView, list[Record]], Iterable[Finding]]

REFERENCE_CHECKS: tuple[Rule, ...] = (check_references, check_goal_references)
CLINICAL_RULES: tuple[Rule, ...] = (
    check_dates,
    check_pain_scale,
    check_treatment_minutes,
    check_license,
    check_precautions,
    check_referral_limits,
    check_diagnosis_codes,
    check_npis,
    check_plan_within_referral,
    check_reassess_interval,
    check_minor_consent,
    check_intraoral_consent,
    check_outcome_scores,
    check_baselines,
)
BILLING_RULES: tuple[Rule, ...] = (check_billing,)
INTEGRITY_CHECKS: tuple[Rule, ...] = (
    check_signatures,
    check_addendum_targets,
    check_late_signatures,
    check_unsigned,
    check_cloned_notes,
    check_sent,
)
RULES: tuple[Rule, ...] = (*REFERENCE_CHECKS, *CLINICAL_RULES, *BILLING_RULES, *INTEGRITY_CHECKS)
