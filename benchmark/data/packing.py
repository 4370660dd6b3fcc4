"""Packing: documents -> one token stream -> fixed-length blocks, with no padding.

Each document ends with ``[EOS]``. Per-token document and sentence ids travel with the tokens,
so sentence-level objectives can still find boundaries after packing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class PackedBlocks:
    """``input_ids``, ``document_ids`` and ``sentence_ids`` are int64 tensors of shape [blocks, seq_len]."""

    input_ids: torch.Tensor
    document_ids: torch.Tensor
    sentence_ids: torch.Tensor

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    @property
    def seq_len(self) -> int:
        return self.input_ids.shape[1]

    def select(self, index: torch.Tensor) -> "PackedBlocks":
        return PackedBlocks(self.input_ids[index], self.document_ids[index], self.sentence_ids[index])

    def to_dict(self) -> dict[str, torch.Tensor]:
        return {"input_ids": self.input_ids, "document_ids": self.document_ids, "sentence_ids": self.sentence_ids}


def pack(token_ids: list[list[list[int]]], seq_len: int, eos_id: int) -> PackedBlocks:
    """Pack documents (each a list of tokenized sentences) into blocks of ``seq_len`` tokens.

    The tail that does not fill a whole block is dropped, so every block is full.
    """
    lengths, doc_of_sentence = [], []
    flat: list[int] = []
    for d, doc in enumerate(token_ids):
        for s, sent in enumerate(doc):
            extra = 1 if s == len(doc) - 1 else 0  # [EOS] closes the document's last sentence
            flat.extend(sent)
            if extra:
                flat.append(eos_id)
            lengths.append(len(sent) + extra)
            doc_of_sentence.append(d)
    lengths_np = np.asarray(lengths, dtype=np.int64)
    sentence_ids = np.repeat(np.arange(len(lengths_np)), lengths_np)
    document_ids = np.asarray(doc_of_sentence, dtype=np.int64)[sentence_ids]
    usable = (len(flat) // seq_len) * seq_len
    if usable == 0:
        raise ValueError(f"corpus has {len(flat)} tokens, fewer than one block of {seq_len}")

    def blocks(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a[:usable]).reshape(-1, seq_len))

    return PackedBlocks(blocks(np.asarray(flat, dtype=np.int64)), blocks(document_ids), blocks(sentence_ids))


def block_indices(step: int, n_blocks: int, batch_size: int, seed: int) -> torch.Tensor:
    """The blocks of pretraining step ``step``: the same for every objective, and a pure function
    of the step, so an interrupted run resumes on exactly the data it would have seen.

    Each epoch is a fresh permutation of the blocks (seeded by ``seed`` and the epoch); the
    remainder that does not fill a batch is skipped.
    """
    per_epoch = n_blocks // batch_size
    if per_epoch == 0:
        raise ValueError(f"{n_blocks} blocks cannot fill one batch of {batch_size}")
    epoch, i = divmod(step, per_epoch)
    order = torch.randperm(n_blocks, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return order[i * batch_size:(i + 1) * batch_size]
