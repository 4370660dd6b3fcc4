"""Finetuning and evaluation routines, one per task format (``Task.format``).

Each module has ``build``, ``evaluate``, ``unsupported(kind)`` (why a model kind cannot take
the format, or None) and ``finetunes``; those that finetune also have ``finetune``.
"""

from benchmark.formats import classification, closed_book_qa, extractive_qa, translation, zero_shot

FORMATS = {
    "classification": classification,
    "closed_book_qa": closed_book_qa,
    "extractive_qa": extractive_qa,
    "translation": translation,
    "zero_shot": zero_shot,
}
