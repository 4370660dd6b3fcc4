"""The companion metrics' arithmetic: log-probabilities of gold answers under a model's scores.

Every format records, beside its primary metric, a continuous likelihood-based score (see
``base.py``). They share two steps: the log-probability that a softmax over the last dimension
of some scores gives each gold index, in float32 whatever precision the forward pass ran in
(bf16's 8-bit mantissa would round a log-probability near 0 to a coarse grid), and a mean that
is None, not NaN, over no items (records hold ``None`` for unknown values).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gold_logprobs(scores: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """log softmax(``scores``)[..., ``gold``]: one log-probability per row of ``scores`` [..., classes]."""
    return F.log_softmax(scores.float(), -1).gather(-1, gold[..., None].to(scores.device)).squeeze(-1)


def mean_or_none(batches: list[torch.Tensor]) -> float | None:
    """The mean of every value in ``batches`` (one tensor per evaluation batch), None when they hold none."""
    values = torch.cat([b.flatten().double().cpu() for b in batches]) if batches else torch.empty(0)
    return float(values.mean()) if values.numel() else None
