"""The suite's pretraining data: corpus -> shared tokenizer -> packed blocks, all cached."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.cache import cache_dir, stable_hash
from benchmark.config import Suite
from benchmark.data import synthetic, tokenizer as tokenization
from benchmark.data.packing import PackedBlocks, pack


@dataclass
class PretrainingData:
    tokenizer: object  # transformers.PreTrainedTokenizerFast
    blocks: PackedBlocks
    corpus_id: str  # hash of the corpus settings: runs on different corpora are never compared
    tokenizer_id: str
    tokenizer_cached: bool
    blocks_cached: bool


def documents(suite: Suite) -> list[list[str]]:
    return synthetic.corpus(suite.corpus.documents, suite.corpus.seed)


def prepare(suite: Suite) -> PretrainingData:
    """Tokenizer and packed blocks for ``suite``, from the cache when they are there."""
    corpus_id = stable_hash("corpus", suite.corpus)
    tokenizer_id = stable_hash("tokenizer", corpus_id, suite.tokenizer)
    tok_path = cache_dir(suite.results_dir, "tokenizers") / tokenizer_id
    blocks_path = cache_dir(suite.results_dir, "blocks") / f"{stable_hash(tokenizer_id, suite.pretrain.seq_len)}.pt"
    docs = None
    if not (tok_path / "tokenizer.json").is_file():
        docs = documents(suite)
    texts = (" ".join(doc) for doc in docs) if docs is not None else iter(())
    tok, tok_cached = tokenization.load_or_train(tok_path, texts, suite.tokenizer.vocab_size, suite.tokenizer.algorithm)
    if blocks_path.is_file():
        blocks = PackedBlocks(**torch.load(blocks_path))
        return PretrainingData(tok, blocks, corpus_id, tokenizer_id, tok_cached, True)
    docs = docs if docs is not None else documents(suite)
    flat = [s for doc in docs for s in doc]
    ids = tok(flat, add_special_tokens=False)["input_ids"]
    nested, i = [], 0
    for doc in docs:
        nested.append(ids[i:i + len(doc)])
        i += len(doc)
    blocks = pack(nested, suite.pretrain.seq_len, tok.eos_token_id)
    tmp = blocks_path.with_suffix(".tmp")
    torch.save(blocks.to_dict(), tmp)
    tmp.replace(blocks_path)
    return PretrainingData(tok, blocks, corpus_id, tokenizer_id, tok_cached, False)
