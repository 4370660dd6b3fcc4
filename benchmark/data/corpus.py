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
from pathlib import Path

import torch

from benchmark import files
from benchmark.cache import cache_dir, lock, stable_hash
from benchmark.config import Suite
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources, synthetic
from benchmark.data import tokenizer as tokenization
from benchmark.data.packing import PackedBlocks, pack
from benchmark.errors import ObjbenchError, warn

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
        paths = sources.resolve_files(cfg.path, "corpus.path")
        rows = sources.load_local(paths, sources.local_format(paths, cfg.format, "corpus.path"))
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
    paths = sources.resolve_files(cfg.path, "corpus.path")
    return "blank_row" if sources.local_format(paths, cfg.format, "corpus.path") == "text" else "row"


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
    paths = sources.resolve_files(cfg.path, "corpus.path")
    return {**identity, "path": cfg.path, "format": sources.local_format(paths, cfg.format, "corpus.path"),
            "files": sources.file_digests(paths)}


def _texts(rows, cfg: CorpusConfig) -> Iterator[str]:
    rows = sources.select_columns(rows, {"text": cfg.text_column}, "corpus")
    for batch in rows.iter(batch_size=1024):
        yield from (text or "" for text in batch["text"])


def prepare(suite: Suite, build: bool = True) -> PretrainingData:
    """Tokenizer and packed blocks for ``suite``, from the cache when they are there and whole.

    What is missing or damaged is built in memory and checked (the corpus must fill at least one
    batch) before anything is written; then, under the data's lock, it is published. With
    ``build=False`` nothing is built: what the cache lacks is an error.
    """
    corpus_id = stable_hash("corpus", corpus_identity(suite.corpus))
    existing = tokenization.existing(suite.tokenizer.pretrained) if suite.tokenizer.pretrained else None
    # An existing tokenizer is known by its content, not its name: a Hub id's files may change.
    identity = {"pretrained": suite.tokenizer.pretrained,
                "sha256": stable_hash(existing.backend_tokenizer.to_str(), sorted(existing.get_vocab().items()))} \
        if existing is not None else suite.tokenizer
    tokenizer_id = stable_hash("tokenizer", tokenization.VERSION, corpus_id, identity)
    tok_path = cache_dir(suite.results_dir, "tokenizers") / tokenizer_id
    blocks_path = cache_dir(suite.results_dir, "blocks") / stable_hash(tokenizer_id, suite.pretrain.seq_len)
    quarantined = cache_dir(suite.results_dir, "quarantine")
    tok = files.load_whole(tok_path, tokenization.load, quarantined, _rebuilt)
    blocks = files.load_whole(blocks_path, _load_blocks, quarantined, _rebuilt)
    cached = (tok is not None, blocks is not None)
    if not build and not all(cached):
        raise ObjbenchError(f"suite {suite.name}: its tokenizer and packed blocks are not in "
                            f"{cache_dir(suite.results_dir, 'blocks').parent}; `objbench run` or `objbench plan` "
                            "makes them (or report a records file with --records, or every stored run with --all-runs)")
    docs = documents(suite) if None in (tok, blocks) else None
    if tok is None and existing is not None:
        tok = existing
    elif tok is None:
        tok = tokenization.train_tokenizer((" ".join(doc) for doc in docs), suite.tokenizer.vocab_size,
                                           suite.tokenizer.algorithm)
    if blocks is None:
        blocks = _pack(docs, tok, suite.pretrain.seq_len)
    check_fills_a_batch(blocks, suite)
    if not all(cached):
        with lock(suite.results_dir, f"data-{tokenizer_id}"):
            for folder in (tok_path, blocks_path):
                for leftover in files.leftovers(folder.parent, folder.name):  # a save cut short by a kill
                    files.remove(leftover)
            if not cached[0] and files.load_whole(tok_path, tokenization.load, quarantined, _rebuilt) is None:
                files.publish_folder(tok_path, tok.save_pretrained)
            if not cached[1] and files.load_whole(blocks_path, _load_blocks, quarantined, _rebuilt) is None:
                files.publish_folder(blocks_path, lambda folder: torch.save(blocks.to_dict(), folder / BLOCKS_FILE))
    return PretrainingData(tok, blocks, corpus_id, tokenizer_id, *cached)


def check_fills_a_batch(blocks: PackedBlocks, suite: Suite) -> None:
    if len(blocks) < suite.pretrain.batch_size:
        raise ObjbenchError(f"corpus: {len(blocks)} blocks of {suite.pretrain.seq_len} tokens cannot fill one batch "
                            f"of pretrain.batch_size={suite.pretrain.batch_size}; use more text (corpus.documents) "
                            f"or a smaller pretrain.seq_len or pretrain.batch_size")


BLOCKS_FILE = "blocks.pt"


def _load_blocks(folder: Path) -> PackedBlocks:
    return PackedBlocks(**torch.load(folder / BLOCKS_FILE))


def _rebuilt(folder: Path, problem: str, moved: Path | None) -> None:
    if moved is not None:  # None: another process moved it first, and said so
        warn(f"{folder} is damaged ({problem}); moved to {moved}; building it again")


def _pack(docs: list[list[str]], tok, seq_len: int) -> PackedBlocks:
    flat = [s for doc in docs for s in doc]
    ids = tok(flat, add_special_tokens=False)["input_ids"]
    nested, i = [], 0
    for doc in docs:
        nested.append(ids[i:i + len(doc)])
        i += len(doc)
    try:
        return pack(nested, seq_len, tok.eos_token_id)
    except ValueError as err:  # fewer tokens than one block
        raise ObjbenchError(f"corpus: {err}; use more text (corpus.documents) or a smaller pretrain.seq_len") from None
