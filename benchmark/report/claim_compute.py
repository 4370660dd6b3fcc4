"""The compute a claim was published at beside the compute it is tested at: how both read, and when the gap
is wide enough to say so."""

from __future__ import annotations

import math

from benchmark.report.published_claims import Claim

FAR_FROM_OBSERVED = 10.0  # a test this many times below (or above) the published compute says so


def flops_text(value: float) -> str:
    """'1.4e18', '2e12': compute as the papers write it."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def flops_range_text(low: float, high: float) -> str:
    return flops_text(low) if math.isclose(low, high, rel_tol=0.05) else f"{flops_text(low)}-{flops_text(high)}"


def observed_text(claim: Claim) -> str:
    """'1.4e18 FLOPs', with '(estimate)' where the figure was derived rather than printed."""
    return f"{flops_range_text(*claim.flops)} FLOPs" + (" (estimate)" if claim.flops_estimated else "")


def _factor(ratio: float) -> str:
    return f"{ratio:.0f}" if ratio < 1000 else flops_text(ratio)


def scale_gap(claim: Claim, tested: tuple[float, float] | None) -> str | None:
    """'7e5x less compute than published; ...' when the tested compute is ``FAR_FROM_OBSERVED`` times or more
    below (or above) the compute the claim was observed at; ``None`` otherwise."""
    if tested is None:
        return None
    low, high = claim.flops
    if tested[1] * FAR_FROM_OBSERVED <= low:
        return f"{_factor(low / tested[1])}x less compute than published; the ordering may not hold this far down"
    if tested[0] >= high * FAR_FROM_OBSERVED:
        return f"{_factor(tested[0] / high)}x more compute than published; the ordering may not hold this far up"
    return None


def compute_note(claim: Claim, tested: tuple[float, float] | None) -> str | None:
    """'observed at 1.4e18 FLOPs, tested at 2e12: 7e5x less compute than published; ...', or ``None`` where the
    tested compute is within ``FAR_FROM_OBSERVED`` times the published one (or unknown)."""
    gap = scale_gap(claim, tested)
    return f"observed at {observed_text(claim)}, tested at {flops_range_text(*tested)}: {gap}" if gap else None
