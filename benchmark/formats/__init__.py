"""Finetuning and evaluation routines, one per task format (``Task.format``)."""

from benchmark.formats import classification

FORMATS = {"classification": classification}
