"""The one tokenizer a suite shares: trained with `tokenizers` on the pretraining corpus.

It carries every special token that any objective needs, so that adding an objective never
changes the vocabulary that the others were compared on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD, UNK, CLS, SEP, MASK, BOS, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"
MODE_TOKENS = ("[R]", "[S]", "[X]")  # UL2 denoiser modes
SENTINELS = tuple(f"<extra_id_{i}>" for i in range(64))  # T5-style span sentinels
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, BOS, EOS, *MODE_TOKENS, *SENTINELS)
VERSION = 2  # part of the tokenizer's cache key: bump when training or decoding changes


def train_tokenizer(texts: Iterable[str], vocab_size: int, algorithm: str = "bpe") -> PreTrainedTokenizerFast:
    """Train a subword tokenizer; the special tokens take the first ids (``[PAD]`` is 0)."""
    if algorithm == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False)
        # A word-start marker (as SentencePiece does) lets generated ids decode back to spaced words.
        tok.decoder = decoders.Metaspace()
    else:
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False)
        tok.decoder = decoders.WordPiece()
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    word_start = [pre_tokenizers.Metaspace()] if algorithm == "bpe" else []
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), *word_start])
    tok.train_from_iterator(texts, trainer=trainer)
    return wrap(tok)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD, unk_token=UNK, cls_token=CLS, sep_token=SEP, mask_token=MASK, bos_token=BOS, eos_token=EOS,
        additional_special_tokens=list(MODE_TOKENS + SENTINELS),
    )


def load(folder: Path) -> PreTrainedTokenizerFast:
    """The tokenizer saved in ``folder`` (by ``save_pretrained``)."""
    return wrap(Tokenizer.from_file(str(folder / "tokenizer.json")))
