"""Tiny local stand-ins for published checkpoints: BERT, ELECTRA (the discriminator), GPT-2, RoBERTa and T5, each
randomly initialised at a tiny shape and written with ``save_pretrained`` beside its own tokenizer, trained here
with the `tokenizers` library in that family's style (WordPiece, byte-level BPE, Unigram)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer, SentencePieceUnigramTokenizer
from tokenizers.implementations import BertWordPieceTokenizer
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertTokenizer,
    ElectraConfig,
    ElectraForPreTraining,
    ElectraTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Tokenizer,
    RobertaConfig,
    RobertaForMaskedLM,
    RobertaTokenizer,
    T5Config,
    T5ForConditionalGeneration,
    T5Tokenizer,
)

SHAPE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128}
VOCAB = 600
# what the board calls each: the objective it was pretrained with and the kind it is
SPECS = {"bert": ("nsp", "encoder"), "electra": ("electra", "encoder"), "gpt2": ("clm", "causal_decoder"),
         "roberta": ("mlm", "encoder"), "t5": ("span_corruption", "encoder_decoder")}


def _wordpiece(texts: list[str]) -> dict[str, int]:
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(texts, vocab_size=VOCAB, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return trainer.get_vocab()


def _byte_bpe(texts: list[str], specials: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(texts, vocab_size=VOCAB, special_tokens=specials)
    model = json.loads(trainer.to_str())["model"]
    return model["vocab"], [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def _unigram(texts: list[str]) -> list[tuple[str, float]]:
    trainer = SentencePieceUnigramTokenizer()
    trainer.train_from_iterator(texts, vocab_size=VOCAB, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    return [tuple(piece) for piece in json.loads(trainer.to_str())["model"]["vocab"]]


def write_checkpoints(folder: Path, texts: list[str]) -> dict[str, Path]:
    """One folder per family under ``folder``; returns family -> folder."""
    torch.manual_seed(0)
    wordpiece = _wordpiece(texts)
    bert_tok = BertTokenizer(vocab=wordpiece)
    electra_tok = ElectraTokenizer(vocab=wordpiece)
    vocab, merges = _byte_bpe(texts, ["<|endoftext|>"])
    gpt2_tok = GPT2Tokenizer(vocab=vocab, merges=merges)
    vocab, merges = _byte_bpe(texts, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    roberta_tok = RobertaTokenizer(vocab=vocab, merges=merges)
    t5_tok = T5Tokenizer(vocab=_unigram(texts), extra_ids=64)
    h, layers, heads, ff = (SHAPE[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                               "intermediate_size"))
    built = {
        "bert": (BertForMaskedLM(BertConfig(vocab_size=len(bert_tok), **SHAPE, max_position_embeddings=128)), bert_tok),
        "electra": (ElectraForPreTraining(ElectraConfig(vocab_size=len(electra_tok), embedding_size=h, **SHAPE,
                                                        max_position_embeddings=128)), electra_tok),
        "gpt2": (GPT2LMHeadModel(GPT2Config(vocab_size=len(gpt2_tok), n_embd=h, n_layer=layers, n_head=heads,
                                            n_inner=ff, n_positions=128, bos_token_id=gpt2_tok.eos_token_id,
                                            eos_token_id=gpt2_tok.eos_token_id)), gpt2_tok),
        "roberta": (RobertaForMaskedLM(RobertaConfig(vocab_size=len(roberta_tok), **SHAPE, max_position_embeddings=130,
                                                     pad_token_id=roberta_tok.pad_token_id)), roberta_tok),
        "t5": (T5ForConditionalGeneration(T5Config(vocab_size=len(t5_tok), d_model=h, d_ff=ff, num_heads=heads,
                                                   d_kv=h // heads, num_layers=layers, num_decoder_layers=layers,
                                                   decoder_start_token_id=t5_tok.pad_token_id,
                                                   pad_token_id=t5_tok.pad_token_id,
                                                   eos_token_id=t5_tok.eos_token_id)), t5_tok),
    }
    out = {}
    for family, (model, tokenizer) in built.items():
        out[family] = folder / family
        model.save_pretrained(out[family])
        tokenizer.save_pretrained(out[family])
    return out
