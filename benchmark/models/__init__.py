"""Model entries: one file each, registered with ``@registry.models.register``."""

from benchmark.models import bert, gpt2, llama, t5  # noqa: F401
