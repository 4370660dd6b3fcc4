"""The suite's pretraining data: corpus -> shared tokenizer -> packed blocks, all cached.

A corpus is a list of documents, each a list of sentences, whatever its source: the
synthetic generator, a Hub dataset or local files (``CorpusConfig``). Real text is read as a
stream of rows (lines of a text file, rows of a table) and cut into documents by
:func:`split_documents`; sentences are split simply, after ``.``, ``!`` or ``?``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from benchmark import files
from benchmark.cache import cache_dir, stable_hash
from benchmark.config import Suite
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources, synthetic
from benchmark.data import tokenizer as tokenization
from benchmark.data.packing import PackedBlocks, pack
from benchmark.errors import ObjbenchError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class PretrainingData:
    tokenizer: object  # transformers.PreTrainedTokenizerFast
    blocks: PackedBlocks
    corpus_id: str  # hash of what determines the corpus text: runs on different corpora are never compared
    tokenizer_id: str
    tokenizer_cached: bool
    blocks_cached: bool


def documents(suite: Suite) -> list[list[str]]:
    """The suite's corpus: at most ``corpus.documents`` documents, each a list of sentences."""
    cfg = suite.corpus
    if cfg.source == "synthetic":
        return synthetic.corpus(cfg.documents, cfg.seed)
    if cfg.source == "hub":
        rows = sources.load_hub(cfg.dataset, cfg.config, cfg.split, cfg.revision)
    else:
        files = sources.resolve_files(cfg.path, "corpus.path")
        rows = sources.load_local(files, sources.local_format(files, cfg.format, "corpus.path"))
    docs = split_documents(_texts(rows, cfg), document_boundary(cfg), cfg.documents)
    if not docs:
        raise ObjbenchError(f"corpus: no text in {cfg.path or cfg.dataset} (column {cfg.text_column!r})")
    return docs


def document_boundary(cfg: CorpusConfig) -> str:
    """The configured boundary, with ``auto`` resolved for the corpus's source and format."""
    if cfg.document_boundary != "auto":
        return cfg.document_boundary
    if cfg.source == "hub":
        return "title_row" if cfg.dataset == sources.WIKITEXT else "row"
    files = sources.resolve_files(cfg.path, "corpus.path")
    return "blank_row" if sources.local_format(files, cfg.format, "corpus.path") == "text" else "row"


def split_documents(rows: Iterable[str], boundary: str, limit: int) -> list[list[str]]:
    """Cut a stream of text rows into at most ``limit`` documents (lists of sentences).

    ``row``: every row is one document (a JSON Lines record, a table row, a line of text).
    ``blank_row``: documents are runs of rows separated by empty rows, i.e. the paragraphs of a
    text file; the lines of a paragraph are joined before sentences are split.
    ``title_row``: WikiText's layout: a level-1 heading row `` = Title = `` starts a new
    document (an article); section headings (`` = = Section = = ``) are dropped, since they are
    not sentences. Documents without a sentence are skipped.
    """
    docs: list[list[str]] = []
    pending: list[str] = []

    def close() -> None:
        parts = [" ".join(pending)] if boundary == "blank_row" else pending
        sentences = [s for part in parts for s in split_sentences(part)]
        pending.clear()
        if sentences:
            docs.append(sentences)

    for row in rows:
        if boundary == "row":
            pending.append(row)
            close()
        elif boundary == "blank_row":
            if row.strip():
                pending.append(row)
            else:
                close()
        elif boundary == "title_row":
            level = heading_level(row)
            if level == 1:
                close()
            elif level == 0:
                pending.append(row)
        else:
            raise ValueError(f"unknown document boundary {boundary!r}")
        if len(docs) >= limit:
            return docs[:limit]
    close()
    return docs[:limit]


def heading_level(row: str) -> int:
    """WikiText heading depth: 1 for `` = Title = ``, 2 for `` = = Section = = ``; 0 for text."""
    words = row.split()
    level = 0
    while level < len(words) and words[level] == "=":
        level += 1
    trailing = 0
    while trailing < len(words) and words[-1 - trailing] == "=":
        trailing += 1
    return level if level and trailing == level and len(words) > 2 * level else 0


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: cut after ``.``, ``!`` or ``?`` followed by white space."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def corpus_identity(cfg: CorpusConfig) -> dict:
    """Everything that determines the corpus text, for its hash.

    Local files enter with their paths and content hashes, so editing a file makes a new
    corpus (and a new tokenizer, new blocks and new checkpoints). A synthetic corpus hashes its
    source, size and seed, and the generator's version: a changed generator is a new corpus.
    """
    if cfg.source == "synthetic":
        return {**cfg.model_dump(include={"source", "documents", "seed"}), "generator": synthetic.GENERATOR_VERSION}
    identity = {"source": cfg.source, "documents": cfg.documents, "text_column": cfg.text_column,
                "document_boundary": document_boundary(cfg)}
    if cfg.source == "hub":
        return {**identity, **cfg.model_dump(include={"dataset", "config", "split", "revision"})}
    files = sources.resolve_files(cfg.path, "corpus.path")
    return {**identity, "path": cfg.path, "format": sources.local_format(files, cfg.format, "corpus.path"),
            "files": sources.file_digests(files)}


def _texts(rows, cfg: CorpusConfig) -> Iterator[str]:
    rows = sources.select_columns(rows, {"text": cfg.text_column}, "corpus")
    for batch in rows.iter(batch_size=1024):
        yield from (text or "" for text in batch["text"])


def prepare(suite: Suite) -> PretrainingData:
    """Tokenizer and packed blocks for ``suite``, from the cache when they are there."""
    corpus_id = stable_hash("corpus", corpus_identity(suite.corpus))
    tokenizer_id = stable_hash("tokenizer", tokenization.VERSION, corpus_id, suite.tokenizer)
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
    files.publish(blocks_path, lambda tmp: torch.save(blocks.to_dict(), tmp))
    return PretrainingData(tok, blocks, corpus_id, tokenizer_id, tok_cached, False)
