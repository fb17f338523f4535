"""Re-check a certificate from its own record.

A rate test cannot see an over-claim that stays below alpha on average (say,
the full alpha spent at the look where sampling stopped), but the record can:
every number behind the claim is in the certificate, so each is re-derived
here from the others. An empty list means the certificate is consistent with
the rule it names; each problem is a sentence.

Checked: the label comes from the selection counts only and `n_a` is its
estimation count; the counts add up to `n0` and `n`; `p_lower` is the
Clopper-Pearson bound of the counts at the alpha of the look where sampling
stopped (with `sequential` cs, the confidence-sequence bound at the full
alpha); the looks' alphas sum to at most alpha; the radius follows from
`p_lower`, the lift norm and the centre error; and with adaptive sampling the
stop (its reason, and the decision at `radius_asked`) re-derives from the
rule rebuilt from the record.
"""

import math

import numpy as np

from certify_contract.results import Certificate
from certify_core.confseq import cs_lower
from certify_core.sequential import RadiusScale, SequentialPlan, SequentialRule
from certify_core.statistics import certified_radius, clopper_pearson_lower

# Re-derived floats come from the same functions on the same inputs; the slack
# only absorbs a JSON round trip.
REL_TOL = 1e-12


def certificate_problems(cert: Certificate) -> list[str]:
    """What in `cert` does not follow from the rest of its record (empty when it all does)."""
    problems = _count_problems(cert)
    if problems:
        return problems
    if cert.sampling == "adaptive":
        problems += _adaptive_problems(cert)
        alpha = _alpha_spent(cert)
    else:
        alpha = cert.alpha
    if alpha is not None:
        cs = cert.sequential == "cs"
        expected = (cs_lower if cs else clopper_pearson_lower)(cert.n_a, cert.n, alpha)
        if not _same(cert.p_lower, expected):
            bound = "confidence-sequence" if cs else "Clopper-Pearson"
            problems.append(f"p_lower {cert.p_lower} is not the {bound} bound {expected} "
                            f"of {cert.n_a} / {cert.n} at alpha {alpha}.")
    radius = certified_radius(cert.p_lower, cert.sigma, cert.lift_norm, cert.centre_error)
    if not _same(cert.radius, radius):
        problems.append(f"radius {cert.radius} does not follow from p_lower {cert.p_lower} "
                        f"(expected {radius}).")
    if cert.abstained != (cert.radius is None) or cert.abstained != (cert.label is None):
        problems.append("abstained must mean no label and no radius, and only then.")
    return problems


def _count_problems(cert: Certificate) -> list[str]:
    problems = []
    if sum(cert.selection_counts) != cert.n0 or sum(cert.estimation_counts) != cert.n:
        problems.append(f"the counts add up to {sum(cert.selection_counts)} and "
                        f"{sum(cert.estimation_counts)}, not n0 = {cert.n0} and n = {cert.n}.")
        return problems
    selected = int(np.argmax(cert.selection_counts))
    if cert.label is not None and cert.label != selected:
        problems.append(f"label {cert.label} is not the selection samples' top class {selected}.")
    if cert.n_a != cert.estimation_counts[selected]:
        problems.append(f"n_a {cert.n_a} is not the estimation count of the selected class "
                        f"{selected} ({cert.estimation_counts[selected]}).")
    return problems


def _alpha_spent(cert: Certificate) -> float | None:
    if cert.sequential == "cs":  # one alpha backs every look at once
        return cert.alpha
    if not cert.alpha_per_look or not cert.looks_taken:
        return None
    return cert.alpha_per_look[cert.looks_taken - 1]


def _adaptive_problems(cert: Certificate) -> list[str]:
    looks, taken, sequential = cert.looks, cert.looks_taken, cert.sequential or "group"
    alphas = cert.alpha_per_look if sequential == "group" else [cert.alpha] * len(looks or [])
    if not looks or not alphas or not taken or len(alphas) != len(looks) or not \
            1 <= taken <= len(looks) or cert.futility_alpha is None:
        return ["an adaptive certificate must record its looks, their alphas, the looks taken "
                "and the futility alpha."]
    problems = []
    if sequential == "group" and sum(alphas) > cert.alpha * (1 + REL_TOL):
        problems.append(f"the looks spend {sum(alphas)}, more than alpha = {cert.alpha}.")
    if sequential == "cs" and cert.alpha_per_look is not None:
        problems.append("a confidence sequence spends its alpha once: no alpha_per_look.")
    if cert.n != looks[taken - 1] or cert.n_max != looks[-1]:
        problems.append(f"n = {cert.n} is not look {taken} ({looks[taken - 1]}), or n_max "
                        f"{cert.n_max} is not the last look.")
    plan = SequentialPlan(tuple(looks), cert.alpha, cert.futility_alpha, sequential)
    if not all(_same(a, b) for a, b in zip(alphas, plan.alphas, strict=True)):
        problems.append(f"alpha_per_look {alphas} is not the rule's split {list(plan.alphas)}.")
    if cert.radius_asked is None and cert.tolerance is None:
        return [*problems, "an estimation certificate must record its tolerance."]
    scale = RadiusScale(cert.sigma, cert.lift_norm, cert.centre_error)
    rule = SequentialRule(plan, scale, cert.radius_asked, cert.tolerance or 1.0)
    outcome = rule.at_look(taken - 1, cert.n_a)
    if outcome.stop != cert.stop_reason:
        problems.append(f"the rule stops at look {taken} with {outcome.stop!r}, the record says "
                        f"{cert.stop_reason!r}.")
    if outcome.certified_at_radius != cert.certified_at_radius:
        problems.append(f"certified_at_radius {cert.certified_at_radius} is not the rule's "
                        f"{outcome.certified_at_radius}.")
    return problems


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
