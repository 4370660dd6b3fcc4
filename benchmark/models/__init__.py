"""Model entries: one file each, registered with ``@registry.models.register``."""

from benchmark.models import llama  # noqa: F401
