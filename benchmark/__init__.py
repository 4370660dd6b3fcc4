"""objbench: compare language-model training objectives on equal terms."""

__version__ = "0.1.0"
