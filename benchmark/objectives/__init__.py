"""Objective entries: one file each, registered with ``@registry.objectives.register``.

Adding an objective: write ``benchmark/objectives/<name>.py`` and add its import line here.
"""

from benchmark.objectives import all_tokens_mlm  # noqa: F401
from benchmark.objectives import clm  # noqa: F401
from benchmark.objectives import denoising  # noqa: F401
from benchmark.objectives import deshuffle  # noqa: F401
from benchmark.objectives import electra  # noqa: F401
from benchmark.objectives import gap_sentences  # noqa: F401
from benchmark.objectives import gpt_bert  # noqa: F401
from benchmark.objectives import masked_diffusion  # noqa: F401
from benchmark.objectives import masked_sentence  # noqa: F401
from benchmark.objectives import mlm  # noqa: F401
from benchmark.objectives import mtp  # noqa: F401
from benchmark.objectives import next_sentence_generation  # noqa: F401
from benchmark.objectives import none  # noqa: F401
from benchmark.objectives import nsp  # noqa: F401
from benchmark.objectives import prefix_lm  # noqa: F401
from benchmark.objectives import sop  # noqa: F401
from benchmark.objectives import span_corruption  # noqa: F401
from benchmark.objectives import ul2  # noqa: F401
