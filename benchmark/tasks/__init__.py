"""Task entries: one file each, registered with ``@registry.tasks.register``."""

from benchmark.tasks import ag_news  # noqa: F401
from benchmark.tasks import blimp  # noqa: F401
from benchmark.tasks import lm_eval_task  # noqa: F401
from benchmark.tasks import local_classification  # noqa: F401
from benchmark.tasks import local_extractive_qa  # noqa: F401
from benchmark.tasks import local_minimal_pairs  # noqa: F401
from benchmark.tasks import local_translation  # noqa: F401
from benchmark.tasks import mnli  # noqa: F401
from benchmark.tasks import squad  # noqa: F401
from benchmark.tasks import sst2  # noqa: F401
from benchmark.tasks import synthetic_closed_qa  # noqa: F401
from benchmark.tasks import synthetic_entity_typing  # noqa: F401
from benchmark.tasks import synthetic_extractive_qa  # noqa: F401
from benchmark.tasks import synthetic_minimal_pairs  # noqa: F401
from benchmark.tasks import synthetic_sentiment  # noqa: F401
from benchmark.tasks import synthetic_topic  # noqa: F401
from benchmark.tasks import synthetic_translation  # noqa: F401
from benchmark.tasks import wmt16_ro_en  # noqa: F401
