"""Classical baselines: one file each, registered with ``@registry.baselines.register``.

Each fits a non-neural system on a task (and, for language models, on the pretraining corpus)
and scores it with the task format's own metrics (see ``base.Baseline``). Adding a baseline:
write ``benchmark/baselines/<name>.py`` and add its import line here.
"""

from benchmark.baselines import hmm  # noqa: F401
from benchmark.baselines import ibm_model1  # noqa: F401
from benchmark.baselines import kneser_ney  # noqa: F401
from benchmark.baselines import sliding_window  # noqa: F401
from benchmark.baselines import tfidf_lr  # noqa: F401
