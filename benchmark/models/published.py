"""A checkpoint pretrained elsewhere, as a model entry: its own architecture, weights and tokenizer.

It is never pretrained here, so it supplies only what finetuning reads (``base.py``): its kind, its
tokenizer and its task heads, each loaded from the checkpoint with the ``transformers`` Auto classes.
Its tokenizer is completed where the task formats need a token it lacks, with one it has: BERT's
``[SEP]`` closes a text as ``[EOS]`` does, and GPT-2 pads with its end-of-text token.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind


def checkpoint_folder(path: str, download: bool = False) -> Path | None:
    """The local folder of ``path``: itself, or a Hub id's snapshot in the Hugging Face cache (fetched there
    first when ``download``); None where it is neither."""
    local = Path(path).expanduser()
    if local.is_dir():
        return local
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return Path(snapshot_download(path, local_files_only=not download))
    except (OSError, ValueError, HfHubHTTPError):  # not cached, offline, or no such repository
        return None


@lru_cache(maxsize=16)
def published_tokenizer(folder: str):
    """The checkpoint's own tokenizer, with an end, a padding and a separator token wherever it lacks one."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.eos_token is None:
        tokenizer.eos_token = tokenizer.sep_token  # BERT-style: [SEP] ends a text
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # GPT-2: pads with <|endoftext|>
    if tokenizer.sep_token is None:
        tokenizer.sep_token = tokenizer.eos_token  # a sentence pair is joined by the end token
    if tokenizer.bos_token is None:
        tokenizer.bos_token = tokenizer.cls_token or tokenizer.eos_token
    if tokenizer.eos_token is None or tokenizer.pad_token is None:
        raise ObjbenchError(f"the tokenizer of {folder} has neither an end nor a separator token to close a text")
    return tokenizer


class PublishedEntry:
    """One published checkpoint (``pretrained:`` in a suite), finetuned and evaluated, never pretrained."""

    presets: ClassVar[dict[str, dict[str, int]]] = {}
    max_positions = 1 << 30  # its own position table bounds it: an input past it fails that run, with the reason

    def __init__(self, name: str, folder: Path, kind: str):
        self.name, self.folder, self.kinds = name, Path(folder), (ModelKind(kind),)

    def tokenizer(self, shared):
        """Its own tokenizer, for every task (the suite's is for the checkpoints it pretrains)."""
        return published_tokenizer(str(self.folder))

    def preset(self, size: str) -> dict[str, int]:
        raise ObjbenchError(f"{self.name} is a published checkpoint: it has no size presets")

    def config(self, size: str, tokenizer, **overrides: int):
        raise ObjbenchError(f"{self.name} is a published checkpoint: it is built from its weights, never from a preset")

    build_lm = config

    def build_classifier(self, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """Its sequence classifier (the Auto class of its architecture), with the tokenizer's padding token."""
        return AutoModelForSequenceClassification.from_pretrained(
            checkpoint or self.folder, num_labels=num_labels, pad_token_id=tokenizer.pad_token_id,
            attn_implementation="sdpa")

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        raise ObjbenchError("a published checkpoint is not pretrained here: its compute is what its source says")


def check_checkpoints_available(paths: dict[str, str]) -> None:
    """Every published checkpoint local or in the Hugging Face cache, a Hub one fetched there first when the Hub can
    be reached; else one line naming every missing one, before anything runs."""
    missing = [f"{name} ({path})" for name, path in paths.items() if checkpoint_folder(path, download=True) is None]
    if missing:
        raise ObjbenchError(f"pretrained: {', '.join(missing)} not in the Hugging Face cache and not downloadable "
                            f"here; run `objbench fetch` where the Hub can be reached, or give a local folder")
