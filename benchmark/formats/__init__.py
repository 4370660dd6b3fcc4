"""Task formats: one file each, a class registered with ``@registry.formats.register``.

Each declares its primary metric, whether it finetunes, and ``unsupported``/``build``/
``finetune``/``evaluate`` (see ``base.Format``). Adding a format: write
``benchmark/formats/<name>.py`` and add its import line here.
"""

from benchmark.formats import classification  # noqa: F401
from benchmark.formats import closed_book_qa  # noqa: F401
from benchmark.formats import extractive_qa  # noqa: F401
from benchmark.formats import lm_eval  # noqa: F401
from benchmark.formats import translation  # noqa: F401
from benchmark.formats import zero_shot  # noqa: F401
