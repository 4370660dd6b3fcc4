"""objbench: compare language-model training objectives on equal terms.

Importing the package imports every entry package, so every ``@register`` decorator has run
before anything looks a name up (as timm's ``__init__`` imports its model files). Entries are
found here and nowhere else: the registry and the config import none of them.
"""

__version__ = "0.1.0"

# every entry registers on import
from benchmark import baselines, formats, models, objectives, tasks, trackers  # noqa: E402,F401
