"""Task entries: one file each, registered with ``@registry.tasks.register``."""

from benchmark.tasks import synthetic_topic  # noqa: F401
