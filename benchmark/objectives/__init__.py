"""Objective entries: one file each, registered with ``@registry.objectives.register``.

Adding an objective: write ``benchmark/objectives/<name>.py`` and import it here.
"""

from benchmark.objectives import clm, mlm, none  # noqa: F401
