"""The report's figures (matplotlib, PNG), each readable on its own.

Every figure colours an objective the same way: a fixed colour for the objectives we know
of, a colour derived from the name's hash for any other, and grey for the ``none`` control.
Models, where a report has several, are told apart by marker (style.py). Scores by task and
against no pretraining are drawn in scores.py, scores against compute in compute.py, what
pretraining cost in costs.py, and attention per layer in attention.py.
"""

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

from benchmark.report.plots.attention import attention_by_layer  # noqa: E402
from benchmark.report.plots.compute import compute_curves, metric_vs_compute  # noqa: E402
from benchmark.report.plots.costs import has_loss_curves, loss_curves, throughput_memory  # noqa: E402
from benchmark.report.plots.scores import control_heatmap, metric_by_task  # noqa: E402

__all__ = ["attention_by_layer", "compute_curves", "control_heatmap", "has_loss_curves", "loss_curves",
           "metric_by_task", "metric_vs_compute", "throughput_memory"]
