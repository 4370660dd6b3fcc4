"""The one tokenizer a suite shares: trained with `tokenizers` on the pretraining corpus, or an existing one.

It carries every special token that any objective needs, so that adding an objective never
changes the vocabulary that the others were compared on.

``byte_bpe`` (the default) is GPT-2's byte-level BPE: every text is a sequence of bytes, so no
letter is unknown and ``decode(encode(text)) == text`` for any Unicode text, case, accents,
spacing and punctuation included. ``bpe`` and ``wordpiece`` are the normalising tokenizers of
earlier records (NFKC, lower case, split on white space and punctuation), kept to reproduce them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from benchmark.errors import ObjbenchError

PAD, UNK, CLS, SEP, MASK, BOS, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"
MODE_TOKENS = ("[R]", "[S]", "[X]")  # UL2 denoiser modes
SENTINELS = tuple(f"<extra_id_{i}>" for i in range(64))  # T5-style span sentinels
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK, BOS, EOS, *MODE_TOKENS, *SENTINELS)
ROLES = {"pad_token": PAD, "unk_token": UNK, "cls_token": CLS, "sep_token": SEP, "mask_token": MASK,
         "bos_token": BOS, "eos_token": EOS}
VERSION = 3  # part of the tokenizer's cache key: bump when training or decoding changes


def train_tokenizer(texts: Iterable[str], vocab_size: int, algorithm: str = "byte_bpe") -> PreTrainedTokenizerFast:
    """Train a subword tokenizer; the special tokens take the first ids (``[PAD]`` is 0)."""
    if algorithm == "byte_bpe":
        tok = Tokenizer(models.BPE())  # no unknown token: the 256 bytes are all in the alphabet
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        # Every text is read with a space before it (RoBERTa's add_prefix_space), so that a word is the
        # same tokens at the start of a text as after a space; decoding strips that one space again,
        # so a text decodes to exactly itself. Offsets leave out the space a token carries.
        tok.normalizer = normalizers.Prepend(" ")
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
        tok.post_processor = processors.ByteLevel(trim_offsets=True)
        tok.train_from_iterator(texts, trainer=trainer)
        return wrap(tok)
    if algorithm == "bpe":
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False)
        # A word-start marker (as SentencePiece does) lets generated ids decode back to spaced words.
        tok.decoder = decoders.Metaspace()
    elif algorithm == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                            show_progress=False)
        tok.decoder = decoders.WordPiece()
    else:
        raise ValueError(f"unknown tokenizer algorithm {algorithm!r}")
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    word_start = [pre_tokenizers.Metaspace()] if algorithm == "bpe" else []
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), *word_start])
    tok.train_from_iterator(texts, trainer=trainer)
    return wrap(tok)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, clean_up_tokenization_spaces=False,
        pad_token=PAD, unk_token=UNK, cls_token=CLS, sep_token=SEP, mask_token=MASK, bos_token=BOS, eos_token=EOS,
        additional_special_tokens=list(MODE_TOKENS + SENTINELS),
    )


def load(folder: Path) -> PreTrainedTokenizerFast:
    """The tokenizer saved in ``folder`` (by ``save_pretrained``), with the special tokens it was saved with."""
    return PreTrainedTokenizerFast.from_pretrained(str(folder))


def existing(path: str) -> PreTrainedTokenizerFast:
    """An existing tokenizer (``tokenizer.pretrained``: a folder or a Hub id in the local cache), given every
    special token an objective reads: its own where it has one for the role, the project's otherwise.

    Tokens it lacks are added at the end of its vocabulary, so its own ids keep their meaning.
    """
    try:
        tok = AutoTokenizer.from_pretrained(path)
    except Exception as err:  # noqa: BLE001 (a missing file, a folder of something else, an id not cached: one line)
        detail = " ".join(str(err).split())[:200]
        raise ObjbenchError(f"tokenizer.pretrained: {path!r} is not a tokenizer that can be loaded (a folder "
                            f"written by save_pretrained, or a Hub id in the local cache): {detail}") from None
    if not getattr(tok, "is_fast", False):
        raise ObjbenchError(f"tokenizer.pretrained: {path!r} has no fast (Rust) tokenizer; the tasks need the "
                            "character offsets only a fast tokenizer gives")
    missing = {role: token for role, token in ROLES.items() if getattr(tok, role) is None}
    extra = [t for t in MODE_TOKENS + SENTINELS if t not in tok.get_vocab()]
    tok.add_special_tokens({**missing, "additional_special_tokens": extra}, replace_extra_special_tokens=False)
    tok.clean_up_tokenization_spaces = False
    return tok
