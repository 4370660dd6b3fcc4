"""Real-data loading: Hub-shaped data, local files, column mapping, corpus identity, offline errors.

No test reaches the network: the Hub is switched off in ``datasets`` and ``huggingface_hub``
for every test, the datasets cache is a fresh temporary folder, and the Hub loaders read
local mirrors written here with the real datasets' layout and columns.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import datasets
import huggingface_hub.constants
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from benchmark import registry
from benchmark.cache import stable_hash
from benchmark.cli import main
from benchmark.config import CorpusConfig, load_suite, validate_suite
from benchmark.data import corpus, sources, synthetic
from benchmark.errors import ObjbenchError
from benchmark.formats.classification import _join_pair, encode, pair_texts
from tests.helpers import tiny_raw, write_suite

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Hub switched off and an empty datasets cache, for every test in this file."""
    cache = tmp_path / "hf" / "datasets"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv(sources.MIRROR_ENV, raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", cache / "downloads")
    monkeypatch.setattr(datasets.config, "EXTRACTED_DATASETS_PATH", cache / "downloads" / "extracted")


def write_hub_mirror(root: Path, dataset: str, configs: dict) -> None:
    """A local copy of a Hub dataset repository: ``<config>/<split>-00000-of-00001.parquet`` files
    (``data/`` for the default config) and a README whose YAML declares the configs, as on the Hub."""
    repo = root / dataset
    card = ["---", "configs:"]
    for config, splits in configs.items():
        folder = config or "data"
        card += [f"- config_name: {config or 'default'}", "  data_files:"]
        for split, columns in splits.items():
            path = repo / folder / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table(columns), path)
            card += [f"  - split: {split}", f"    path: {folder}/{split}-*"]
    (repo / "README.md").write_text("\n".join(card + ["---", ""]))


@pytest.fixture
def hub_mirror(tmp_path, monkeypatch):
    root = tmp_path / "mirror"
    monkeypatch.setenv(sources.MIRROR_ENV, str(root))
    return root


# --- Hub tasks and corpus, on Hub-shaped local data -------------------------------------------

def test_sst2_reads_glue_columns_and_uses_validation_as_test(hub_mirror):
    write_hub_mirror(hub_mirror, "nyu-mll/glue", {"sst2": {
        "train": {"sentence": ["a fine film", "dull", "great fun"], "label": [1, 0, 1], "idx": [0, 1, 2]},
        "validation": {"sentence": ["superb", "awful", "unlabelled"], "label": [1, 0, -1], "idx": [0, 1, 2]},
        "test": {"sentence": ["hidden"], "label": [-1], "idx": [0]},
    }})
    splits = registry.tasks.get("sst2")(registry.tasks.get("sst2").Params()).load(CorpusConfig())
    assert splits["train"].column_names == ["text", "label"]
    assert splits["train"].features["label"].names == ["negative", "positive"]
    assert list(splits["train"]["text"]) == ["a fine film", "dull", "great fun"]
    assert list(splits["test"]["text"]) == ["superb", "awful"]  # validation, with the -1 row dropped
    assert list(splits["test"]["label"]) == [1, 0]


def test_mnli_is_a_sentence_pair_with_a_chosen_validation_split(hub_mirror):
    pairs = {"premise": ["p0", "p1", "p2"], "hypothesis": ["h0", "h1", "h2"], "label": [0, 1, 2], "idx": [0, 1, 2]}
    write_hub_mirror(hub_mirror, "nyu-mll/glue", {"mnli": {
        "train": pairs,
        "validation_matched": {**pairs, "premise": ["m0", "m1", "m2"]},
        "validation_mismatched": {**pairs, "premise": ["x0", "x1", "x2"]},
    }})
    task = registry.tasks.get("mnli")
    splits = task(task.Params(train_size=2)).load(CorpusConfig())
    assert set(splits["train"].column_names) == {"text", "text_pair", "label"}
    assert splits["train"].features["label"].names == ["entailment", "neutral", "contradiction"]
    assert len(splits["train"]) == 2
    assert all(f"h{t[1]}" == h for t, h in zip(splits["train"]["text"], splits["train"]["text_pair"]))
    assert list(splits["test"]["text"]) == ["m0", "m1", "m2"]
    mismatched = task(task.Params(test_split="validation_mismatched")).load(CorpusConfig())
    assert list(mismatched["test"]["text"]) == ["x0", "x1", "x2"]


def test_ag_news_default_config_and_fixed_subsets(hub_mirror):
    texts = [f"article {i}" for i in range(40)]
    write_hub_mirror(hub_mirror, "fancyzhx/ag_news", {None: {
        "train": {"text": texts, "label": [i % 4 for i in range(40)]},
        "test": {"text": texts[:8], "label": [i % 4 for i in range(8)]},
    }})
    task = registry.tasks.get("ag_news")
    first = task(task.Params(train_size=10)).load(CorpusConfig())
    again = task(task.Params(train_size=10)).load(CorpusConfig())
    other = task(task.Params(train_size=10, subset_seed=1)).load(CorpusConfig())
    assert first["train"].features["label"].names == ["World", "Sports", "Business", "Sci/Tech"]
    assert len(first["train"]) == 10 and len(first["test"]) == 8
    assert list(first["train"]["text"]) == list(again["train"]["text"])  # every objective sees the same subset
    assert list(first["train"]["text"]) != list(other["train"]["text"])
    for text, label in zip(first["train"]["text"], first["train"]["label"]):
        assert int(text.split()[1]) % 4 == label  # rows keep their own labels through the subset


WIKITEXT_ROWS = [
    "", " = Alpha = ", "", " Alpha is a letter . It comes first ! ", "",
    " = = History = = ", "", " The letter is old . ", "",
    " = Beta = ", "", " Beta comes second . ", "",
    " = Gamma = ", "", " Gamma is third . Is it ? Yes . ", "",
]


def test_wikitext_corpus_splits_articles_and_packs(hub_mirror, tmp_path):
    write_hub_mirror(hub_mirror, "Salesforce/wikitext", {"wikitext-2-raw-v1": {
        "train": {"text": WIKITEXT_ROWS * 20}, "validation": {"text": [" = V = ", " Not read . "]},
    }})
    raw = tiny_raw(tmp_path, corpus={"source": "hub", "dataset": "Salesforce/wikitext",
                                     "config": "wikitext-2-raw-v1", "documents": 50})
    suite = validate_suite(raw)
    assert suite.corpus.revision == sources.REVISIONS["Salesforce/wikitext"]  # the pin fills in
    docs = corpus.documents(suite)
    assert docs[:3] == [["Alpha is a letter .", "It comes first !", "The letter is old ."],
                        ["Beta comes second ."], ["Gamma is third .", "Is it ?", "Yes ."]]
    assert len(docs) == 50  # the cap
    data = corpus.prepare(suite)
    assert data.blocks.seq_len == 32 and len(data.blocks) > 0
    assert int(data.blocks.document_ids.max()) < 50
    repinned = validate_suite({**raw, "corpus": {**raw["corpus"], "revision": "v1.0"}})
    assert stable_hash(corpus.corpus_identity(repinned.corpus)) != stable_hash(corpus.corpus_identity(suite.corpus))


def test_hub_task_without_network_or_cache_fails_in_one_line_naming_fetch():
    task = registry.tasks.get("sst2")
    with pytest.raises(ObjbenchError, match=r"nyu-mll/glue \(sst2\) at revision \w+ is not in the local cache.*"
                                            r"objbench fetch"):
        task(task.Params()).load(CorpusConfig())


def test_fetch_command_offline_names_the_dataset(tmp_path, capsys):
    raw = tiny_raw(tmp_path, tasks=["ag_news"], task_params={})
    code = main(["fetch", str(write_suite(tmp_path / "s.yaml", raw))])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "fancyzhx/ag_news" in err and "objbench fetch" in err


def test_corpus_config_fields_must_fit_the_source(tmp_path):
    def check(corpus_raw: dict, message: str) -> None:
        with pytest.raises(ObjbenchError, match=message):
            validate_suite(tiny_raw(tmp_path, corpus=corpus_raw))

    check({"source": "hub"}, r"corpus: dataset is required")
    check({"source": "hub", "dataset": "someone/corpus"}, r"revision is required for 'someone/corpus'")
    check({"source": "local"}, r"path is required")
    check({"path": "x.txt"}, r"path is only used when source is local")
    check({"source": "local", "path": "x.txt", "dataset": "a/b"}, r"dataset is only used when source is hub")
    check({"source": "hub", "dataset": "a/b", "revision": "v1", "format": "xml"}, r"corpus\.format")


# --- local files -------------------------------------------------------------------------------

def test_local_csv_and_jsonl_classification_with_string_labels_and_mapping(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("id,review,sentiment\n1,good stuff,pos\n2,bad stuff,neg\n3,so so,meh\n4,great,pos\n")
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps({"review": r, "sentiment": s, "extra": 1}) + "\n"
                            for r, s in (("fine", "pos"), ("poor", "neg"), ("odd", "zzz"))))
    task = registry.tasks.get("local_classification")
    params = task.Params(train_path=str(train), test_path=str(test), text_column="review", label_column="sentiment")
    splits = task(params).load(CorpusConfig())
    names = ["meh", "neg", "pos", "zzz"]  # sorted, over both splits
    assert splits["train"].features["label"].names == names
    assert splits["test"].features["label"].names == names
    assert splits["train"].column_names == ["text", "label"]
    assert [names[i] for i in splits["train"]["label"]] == ["pos", "neg", "meh", "pos"]
    assert [names[i] for i in splits["test"]["label"]] == ["pos", "neg", "zzz"]


def test_local_integer_labels_and_text_pairs(tmp_path):
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text("".join(
            json.dumps({"a": f"first {i}", "b": f"second {i}", "y": i % 3}) + "\n" for i in range(6)))
    task = registry.tasks.get("local_classification")
    params = task.Params(train_path=str(tmp_path / "train.jsonl"), test_path=str(tmp_path / "test.jsonl"),
                         text_column="a", text_pair_column="b", label_column="y")
    splits = task(params).load(CorpusConfig())
    assert splits["train"].features["label"].names == ["0", "1", "2"]
    assert list(splits["test"]["label"]) == [0, 1, 2, 0, 1, 2]
    assert pair_texts(splits["train"])[:2] == ["second 0", "second 1"]  # what finetuning encodes as the pair
    assert pair_texts(splits["train"].remove_columns("text_pair")) is None


def test_missing_columns_are_named(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("sentence,label\nhello,a\n")
    task = registry.tasks.get("local_classification")
    params = task.Params(train_path=str(train), test_path=str(train), text_column="body")
    with pytest.raises(ObjbenchError, match=r"no column 'body' for the text \(the data has: sentence, label\)"):
        task(params).load(CorpusConfig())
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"content": "A sentence ."}) + "\n")
    suite = validate_suite(tiny_raw(tmp_path, corpus={"source": "local", "path": str(tmp_path / "corpus.jsonl")}))
    with pytest.raises(ObjbenchError, match=r"corpus: no column 'text' for the text \(the data has: content\)"):
        corpus.documents(suite)


def write_local(path: Path, rows: list[dict]) -> Path:
    """``rows`` in the format that ``path``'s extension names (.parquet, .csv, .jsonl, .txt; +.gz compressed)."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    if name.endswith(".csv"):
        columns = list(rows[0])
        text = ",".join(columns) + "\n" + "".join(",".join(str(r[c]) for c in columns) + "\n" for r in rows)
    elif name.endswith(".jsonl"):
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:  # plain text: one row per line
        text = "".join(r["text"] + "\n" for r in rows)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("train_name, test_name", [("train.parquet", "test.csv.gz"),
                                                   ("train.jsonl.gz", "test.parquet")])
def test_local_classification_reads_parquet_and_gzip_files(tmp_path, train_name, test_name):
    rows = [{"body": f"text {i}", "y": "pos" if i % 2 else "neg"} for i in range(6)]
    train = write_local(tmp_path / train_name, rows)
    test = write_local(tmp_path / test_name, [{"body": "fresh one", "y": "pos"}, {"body": "fresh two", "y": "mid"}])
    task = registry.tasks.get("local_classification")
    params = task.Params(train_path=str(train), test_path=str(test), text_column="body", label_column="y")
    splits = task(params).load(CorpusConfig())
    names = ["mid", "neg", "pos"]
    assert splits["train"].features["label"].names == names and splits["test"].features["label"].names == names
    assert list(splits["train"]["text"]) == [f"text {i}" for i in range(6)]
    assert [names[i] for i in splits["train"]["label"]] == ["neg", "pos"] * 3
    assert list(splits["test"]["text"]) == ["fresh one", "fresh two"]
    assert [names[i] for i in splits["test"]["label"]] == ["pos", "mid"]


@pytest.mark.parametrize("name", ["corpus.txt.gz", "corpus.jsonl.gz", "corpus.csv.gz", "corpus.parquet"])
def test_local_corpus_reads_parquet_and_gzip_files(tmp_path, name):
    sentences = [f"Sentence {i} of the corpus is here." for i in range(300)]
    path = write_local(tmp_path / name, [{"text": s} for s in sentences])
    by_row = {"source": "local", "path": str(path), "document_boundary": "row"}
    suite = validate_suite(tiny_raw(tmp_path, corpus=by_row))
    docs = corpus.documents(suite)
    assert docs[:2] == [[sentences[0]], [sentences[1]]] and len(docs) == 300  # one document per row
    data = corpus.prepare(suite)
    assert len(data.blocks) > 0
    first = data.tokenizer.decode(data.blocks.input_ids[0].tolist(), skip_special_tokens=True)
    assert first.startswith(sentences[0])  # the text as written, not compressed bytes


BAD_LABELS = {  # case -> (train rows, test rows) as files whose extension gives the format
    "float labels": ("train.csv", [{"text": "a", "label": 0.5}, {"text": "b", "label": 1.5}], "test.csv", None),
    "an empty label cell": ("train.csv", [{"text": "a", "label": 1}, {"text": "b", "label": ""}], "test.csv", None),
    "numbers and strings mixed": ("train.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": "pos"}],
                                  "test.jsonl", None),
    "a null label": ("train.jsonl", [{"text": "a", "label": None}, {"text": "b", "label": "pos"}], "test.jsonl", None),
    "a negative class id": ("train.csv", [{"text": "a", "label": -2}, {"text": "b", "label": 1}], "test.csv", None),
    "ids in train, strings in test": ("train.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 1}],
                                      "test.jsonl", [{"text": "c", "label": "pos"}]),
    "ids in train, floats in test": ("train.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 1}],
                                     "test.csv", [{"text": "c", "label": 0.5}]),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_bad_labels_in_a_local_file_are_one_error_naming_the_file(tmp_path, case):
    train_name, train_rows, test_name, test_rows = BAD_LABELS[case]
    train = write_local(tmp_path / train_name, train_rows)
    test = write_local(tmp_path / test_name, test_rows or train_rows) if test_rows else train
    bad = test if test_rows and case != "ids in train, strings in test" else train
    task = registry.tasks.get("local_classification")
    with pytest.raises(ObjbenchError) as err:
        task(task.Params(train_path=str(train), test_path=str(test))).load(CorpusConfig())
    message = str(err.value)
    assert message.startswith("task_params.local_classification: ") and "\n" not in message
    assert str(bad) in message, message


def test_unmatched_path_and_unknown_extension_are_errors(tmp_path):
    task = registry.tasks.get("local_classification")
    params = task.Params(train_path=str(tmp_path / "nope*.csv"), test_path=str(tmp_path / "nope.csv"))
    with pytest.raises(ObjbenchError, match=r"train_path: no file matches"):
        task(params).load(CorpusConfig())
    (tmp_path / "data.tsv").write_text("text\tlabel\n")
    with pytest.raises(ObjbenchError, match=r"cannot tell the format"):
        sources.local_format([tmp_path / "data.tsv"], "auto", "x")


def test_local_text_corpus_paragraphs_become_packed_documents(tmp_path):
    paragraphs = [f"Paragraph {i} starts here. It goes on\nover two lines! The end." for i in range(60)]
    text = tmp_path / "corpus.txt"
    text.write_text("\n\n\n".join(paragraphs) + "\n")
    suite = validate_suite(tiny_raw(tmp_path, corpus={"source": "local", "path": str(tmp_path / "*.txt")}))
    docs = corpus.documents(suite)
    assert len(docs) == 60
    assert docs[7] == ["Paragraph 7 starts here.", "It goes on over two lines!", "The end."]
    by_line = validate_suite(tiny_raw(tmp_path, corpus={"source": "local", "path": str(text),
                                                         "document_boundary": "row"}))
    assert corpus.documents(by_line)[:2] == [["Paragraph 0 starts here.", "It goes on"], ["over two lines!", "The end."]]
    data = corpus.prepare(suite)
    assert data.blocks.input_ids.shape[1] == 32
    eos = data.tokenizer.eos_token_id
    ends = data.blocks.input_ids == eos
    # [EOS] closes each document: the token after it belongs to the next document.
    assert ends.any()
    flat_docs, flat_ends = data.blocks.document_ids.flatten(), ends.flatten()
    after = torch.nonzero(flat_ends[:-1]).flatten() + 1
    assert torch.equal(flat_docs[after], flat_docs[after - 1] + 1)


def test_corpus_identity_follows_local_file_content(tmp_path):
    text = tmp_path / "corpus.txt"
    cfg = CorpusConfig(source="local", path=str(text))
    text.write_text("One sentence here.\n")
    first = stable_hash("corpus", corpus.corpus_identity(cfg))
    text.write_text("Another sentence here.\n")
    assert stable_hash("corpus", corpus.corpus_identity(cfg)) != first
    text.write_text("One sentence here.\n")
    assert stable_hash("corpus", corpus.corpus_identity(cfg)) == first
    moved = tmp_path / "elsewhere.txt"
    moved.write_text("One sentence here.\n")
    assert stable_hash("corpus", corpus.corpus_identity(CorpusConfig(source="local", path=str(moved)))) != first


def test_synthetic_corpus_key_follows_size_seed_and_generator(monkeypatch):
    key = stable_hash("corpus", corpus.corpus_identity(CorpusConfig()))
    assert stable_hash("corpus", corpus.corpus_identity(CorpusConfig(documents=10))) != key
    assert stable_hash("corpus", corpus.corpus_identity(CorpusConfig(seed=1))) != key
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    assert stable_hash("corpus", corpus.corpus_identity(CorpusConfig())) != key  # a changed generator is a new corpus


def test_split_documents_rules():
    rows = ["a b. c", "", "  ", "d", "e? f", "", "g"]
    assert corpus.split_documents(rows, "row", 10) == [["a b.", "c"], ["d"], ["e?", "f"], ["g"]]
    assert corpus.split_documents(rows, "blank_row", 10) == [["a b.", "c"], ["d e?", "f"], ["g"]]
    assert corpus.split_documents(rows, "blank_row", 2) == [["a b.", "c"], ["d e?", "f"]]
    assert [corpus.heading_level(r) for r in (" = A = ", " = = B c = = ", " a = b = c ", " = = ")] == [1, 2, 0, 0]


# --- sentence pairs in the classification format ----------------------------------------------

def test_pair_truncation_cuts_the_longer_side_first():
    assert _join_pair([1, 2], [3], sep_id=9, budget=10) == [1, 2, 9, 3]
    assert _join_pair(list(range(20)), [100, 101], sep_id=9, budget=6) == [0, 1, 2, 3, 9, 100, 101]
    assert _join_pair([1, 2], list(range(20)), sep_id=9, budget=6) == [1, 2, 9, 0, 1, 2, 3]
    assert _join_pair(list(range(20)), list(range(50, 70)), sep_id=9, budget=6) == [0, 1, 2, 9, 50, 51, 52]


def test_encode_pairs_as_text_sep_pair_eos(tiny_data):
    tok = tiny_data.tokenizer
    single = encode(["the a ."], tok, 32)
    paired = encode(["the a .", "the a ."], tok, 32, ["a the .", "a " * 40 + "."])
    first = tok("the a .", add_special_tokens=False)["input_ids"]
    second = tok("a the .", add_special_tokens=False)["input_ids"]
    assert single[0].tolist() == [*first, tok.eos_token_id]
    row = paired[0][paired[0] != tok.pad_token_id].tolist()
    assert row == [*first, tok.sep_token_id, *second, tok.eos_token_id]
    assert int((paired[1] != tok.pad_token_id).sum()) == 32  # truncated to max_length, [EOS] kept
    assert paired[1][31].item() == tok.eos_token_id


# --- shipped suites ----------------------------------------------------------------------------

@pytest.mark.slow
def test_local_example_suite_runs_end_to_end(tmp_path, monkeypatch):
    from benchmark.harness import run_suite
    from benchmark.results import iter_records

    monkeypatch.chdir(REPO)
    suite = load_suite("suites/local-example.yaml", [
        "size=tiny", "device=cpu", "pretrain.budget_unit=steps", "pretrain.budget=3", "pretrain.batch_size=8",
        "pretrain.seq_len=32", "tokenizer.vocab_size=512",
        "finetune.epochs=1", "finetune.seeds=[0]", "finetune.max_length=32",
        "task_params.local_classification.train_size=48", "task_params.local_classification.test_size=40",
        f"results_dir={tmp_path / 'results'}", f"reports_dir={tmp_path / 'reports'}"])
    summary = run_suite(suite, progress=False)
    assert summary.ran == len(suite.objectives) * len(suite.pretrain.seeds)  # one finetuning seed
    records = list(iter_records(suite.results_dir, suite.name))
    assert {r["objective"] for r in records} == set(suite.objectives)
    assert all(0.0 <= r["metrics"]["accuracy"] <= 1.0 for r in records)
    assert all(r["finetune"]["examples"] == 48 and r["evaluate"]["examples"] == 40 for r in records)
    identity = corpus.corpus_identity(suite.corpus)
    assert identity["files"][0]["path"] == "suites/data/pretrain.txt"
    assert {r["corpus_id"] for r in records} == {stable_hash("corpus", identity)}
