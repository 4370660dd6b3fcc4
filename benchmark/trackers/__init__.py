"""Experiment trackers: one entry per file, registered with ``@registry.trackers.register``.

Each is a metric logger (``benchmark.loggers.MetricLogger``) over one tracking library, which is an
optional extra of its own; ``benchmark.tracking`` opens the ones a suite names.
"""

from benchmark.trackers import mlflow_tracker, tensorboard, trackio_tracker, wandb_tracker  # noqa: F401
