"""The catalogue of bad inputs: each one must be refused with exit status 2 and one line naming the
problem, no traceback, and nothing written under results_dir or reports_dir (tests/test_bad_inputs.py).

An entry builds its case inside a temporary folder (the working directory while it runs) and
returns the command line; ``expect`` is a piece of the one error line. Add a case by adding an
entry: a name, the class of problem it belongs to, how to build it, and what the error must say.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers import TINY_SUITE


@dataclass(frozen=True)
class BadInput:
    name: str
    kind: str  # the class of problem: paths, validation, yaml, data, store, hardware, cli
    build: Callable[[Path], list[str]]  # writes what it needs under the folder, returns objbench's argv
    expect: str  # a piece of the error line


def suite(tmp: Path, command: str = "run", extra: list[str] | None = None, **changes) -> list[str]:
    """The tiny suite with ``changes``, written to suite.yaml; argv for ``objbench COMMAND``."""
    raw = yaml.safe_load(yaml.safe_dump(TINY_SUITE))
    raw.update(results_dir="results", reports_dir="reports")
    raw.update(changes)
    (tmp / "suite.yaml").write_text(yaml.safe_dump(raw))
    return [command, "suite.yaml", "--quiet", *(extra or [])] if command == "run" else [command, "suite.yaml",
                                                                                        *(extra or [])]


def override(*settings: str, command: str = "run") -> Callable[[Path], list[str]]:
    return lambda tmp: suite(tmp, command, list(settings))


def text_suite(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "suite.yaml").write_text(text)
        return ["run", "suite.yaml", "--quiet"]
    return build


def raw_bytes_suite(data: bytes) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "suite.yaml").write_bytes(data)
        return ["run", "suite.yaml"]
    return build


TINY_YAML = yaml.safe_dump({**TINY_SUITE, "results_dir": "results", "reports_dir": "reports"})


def local_corpus(content: str, name: str = "corpus.txt") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / name).write_text(content)
        return suite(tmp, corpus={"source": "local", "path": name, "documents": 1000})
    return build


def local_task(train: str, test: str, train_name: str = "train.csv", test_name: str = "test.csv",
               **params) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / train_name).write_text(train)
        if test_name != train_name:
            (tmp / test_name).write_text(test)
        settings = {"train_path": train_name, "test_path": test_name, **params}
        return suite(tmp, tasks=["local_classification"], task_params={"local_classification": settings})
    return build


def local_text_task(task: str, files: dict[str, str], **params) -> Callable[[Path], list[str]]:
    """Task ``task`` reading ``files`` (name -> content) written in the working folder, with ``params``."""
    def build(tmp: Path) -> list[str]:
        for name, content in files.items():
            (tmp / name).write_text(content)
        return suite(tmp, tasks=[task], task_params={task: params})
    return build


def pretrained_tokenizer_of_something_else(tmp: Path) -> list[str]:
    """A folder that holds a model's config and no tokenizer, named as the suite's tokenizer."""
    (tmp / "not-a-tokenizer").mkdir()
    (tmp / "not-a-tokenizer" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return suite(tmp, tokenizer={"pretrained": "not-a-tokenizer"})


GOOD_CSV = "text,label\n" + "".join(f"the cat sat number {i},{'ab'[i % 2]}\n" for i in range(12))


def records_file(content: bytes) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "records.jsonl").write_bytes(content)
        return suite(tmp, "report", ["--records", "records.jsonl"])
    return build


def results_dir_is_a_file(tmp: Path) -> list[str]:
    (tmp / "occupied").write_text("not a folder")
    return suite(tmp, results_dir="occupied")


def reports_dir_is_a_file(tmp: Path) -> list[str]:
    (tmp / "occupied").write_text("not a folder")
    return suite(tmp, reports_dir="occupied")


def other_schema_records(tmp: Path) -> list[str]:
    record = {"run_id": "abc", "schema_version": 1, "suite": "tiny"}
    (tmp / "records.jsonl").write_text(json.dumps(record) + "\n")
    return suite(tmp, "report", ["--records", "records.jsonl"])


def sealed_records(tmp: Path, name: str, change: Callable[[dict], None] | None = None,
                   objective: str = "clm") -> str:
    """Three real records of ``objective`` on the topic task, sealed with their content hash as a report writes
    them, the second changed by ``change``; returns the file's name."""
    from benchmark.results import DIGEST_KEY, content_digest
    from tests.report_fixtures import make_record

    records = [make_record(objective, "synthetic_topic", seed, 0, 0.5 + seed / 100) for seed in range(3)]
    if change is not None:
        change(records[1])
    (tmp / name).write_text("".join(json.dumps({**r, DIGEST_KEY: content_digest(r)}) + "\n" for r in records))
    return name


def baseline_check(change: Callable[[dict], None] | None, command: str = "check",
                   objective: str = "clm") -> Callable[[Path], list[str]]:
    """``check`` of the tiny suite (or ``compare``) against a baseline whose second record ``change`` spoils."""
    def build(tmp: Path) -> list[str]:
        baseline = sealed_records(tmp, "baseline.jsonl", change, objective)
        if command == "compare":
            return ["compare", baseline, sealed_records(tmp, "current.jsonl")]
        return suite(tmp, "check", ["--baseline", baseline, "--quiet"])
    return build


def checkpoint_folder(tmp: Path, weights: bytes, manifest: bool) -> str:
    """A folder laid out as pretraining saves a checkpoint, with ``weights`` as its safetensors file and, with
    ``manifest``, a manifest that says the file was written longer than it is (a copy cut short)."""
    folder = tmp / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "objbench_kind": "causal_decoder"}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(weights)
    if manifest:
        (folder / "MANIFEST.json").write_text(json.dumps(
            {"model.safetensors": {"bytes": len(weights) + 4096, "sha256": "0" * 64}}))
    return "ckpt"


def inspect_case(*extra: str, weights: bytes = b"\x08\x00\x00\x00\x00\x00\x00\x00{}", manifest: bool = False,
                 out_file: bool = False) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        target = checkpoint_folder(tmp, weights, manifest)
        if out_file:
            (tmp / "maps.txt").write_text("mine")
        return ["inspect", target, *extra]
    return build


HUGE_CELL = "word " * 220_001  # 1,100,005 characters: beyond the 1,000,000 a cell may hold

CATALOGUE: list[BadInput] = [
    # --- names that would become paths outside the store -------------------------------------
    BadInput("name climbs out", "paths", override("name=../../escape"), "name: '../../escape' cannot name files"),
    BadInput("absolute name", "paths", override("name=/tmp/objbench-absolute-name"), "cannot name files"),
    BadInput("name with a slash", "paths", override("name=a/b"), "cannot name files"),
    BadInput("name with a newline", "paths", lambda tmp: suite(tmp, name="two\nlines"), "cannot name files"),
    BadInput("empty name", "paths", lambda tmp: suite(tmp, name=""), "name"),
    BadInput("name of dots", "paths", override("name=.."), "cannot name files"),
    BadInput("variant name climbs out", "paths",
             lambda tmp: suite(tmp, objectives=["none", "../x"], variants={"../x": {"objective": "mlm"}}), "variants"),
    BadInput("hidden variant name", "paths",
             lambda tmp: suite(tmp, objectives=["none", ".mlm"], variants={".mlm": {"objective": "mlm"}}), "variants"),
    # --- budgets and numbers that cannot be meant --------------------------------------------------
    BadInput("half a step", "validation", override("pretrain.budget=0.5"), "not a whole number of steps"),
    BadInput("budget true", "validation", override("pretrain.budget=true"), "pretrain.budget"),
    BadInput("infinite budget", "validation", override("pretrain.budget=.inf"), "pretrain.budget"),
    BadInput("NaN budget", "validation", override("pretrain.budget=.nan"), "pretrain.budget"),
    BadInput("astronomical budget", "validation", override("pretrain.budget=1e30"), "allow_large_budget"),
    BadInput("negative budget", "validation", override("pretrain.budget=-5"), "pretrain.budget"),
    BadInput("tokens below one step", "validation", override("pretrain.budget_unit=tokens", "pretrain.budget=10"),
             "less than one step"),
    BadInput("NaN learning rate", "validation", override("finetune.lr=.nan"), "finetune.lr"),
    BadInput("repeated finetuning seed", "validation", override("finetune.seeds=[0,0]"), "finetune.seeds"),
    BadInput("repeated pretraining seed", "validation", override("pretrain.seeds=[3,3]"), "pretrain.seeds"),
    BadInput("seed past what torch takes", "validation", override("pretrain.seeds=[4611686018427387904]"),
             "pretrain.seeds"),
    BadInput("negative finetuning seed", "validation", override("finetune.seeds=[-1]"), "finetune.seeds"),
    BadInput("block longer than the model", "validation", override("pretrain.seq_len=4096"), "pretrain.seq_len"),
    BadInput("input longer than the model", "validation", override("finetune.max_length=5000"),
             "finetune.max_length"),
    BadInput("everything excluded", "validation", override("exclude=['*']"), "exclude"),
    BadInput("unknown objective", "validation", override("objectives=[none,mlmm]"), "did you mean"),
    BadInput("unknown task", "validation", override("tasks=[synthetic_topix]"), "tasks"),
    BadInput("unknown size", "validation", override("size=huge"), "size"),
    BadInput("unknown size in a list", "validation", lambda tmp: suite(tmp, size=["tiny", "huge"]), "no size 'huge'"),
    BadInput("a size listed twice", "validation", lambda tmp: suite(tmp, size=["tiny", "tiny"]), "listed twice"),
    BadInput("pretrained folder that is not a checkpoint", "validation", lambda tmp: (tmp / "empty").mkdir() or suite(
        tmp, pretrained={"mine": {"path": "empty", "objective": "mlm", "kind": "encoder"}}), "is not a checkpoint"),
    BadInput("pretrained path that is neither a folder nor a Hub id", "validation", lambda tmp: suite(
        tmp, pretrained={"mine": {"path": "no/such/folder", "objective": "mlm", "kind": "encoder"}}),
        "neither a folder nor a Hugging Face Hub id"),
    BadInput("pretrained compute without its source", "validation", lambda tmp: (tmp / "c").mkdir() or (
        tmp / "c" / "config.json").write_text("{}") and suite(tmp, pretrained={"mine": {
            "path": "c", "objective": "mlm", "kind": "encoder", "flops": 1e18}}), "needs its source"),
    BadInput("unknown model family", "validation", override("models=[gpt3]"), "models: unknown model 'gpt3'"),
    BadInput("model lacking the objective's kind", "validation", lambda tmp: suite(tmp, models=["bert"],
             objectives=["clm"]), "objective clm needs a causal_decoder and model bert cannot be one"),
    BadInput("unknown key", "validation", override("pretrain.learning_rate=1e-3"), "unknown key"),
    BadInput("wrong type", "validation", override("finetune.epochs=many"), "finetune.epochs"),
    BadInput("variant of an unknown objective", "validation",
             lambda tmp: suite(tmp, objectives=["none", "v"], variants={"v": {"objective": "nope"}}), "variants.v"),
    BadInput("CUDA asked for where there is none", "hardware", override("device=cuda"), "device=cuda"),
    BadInput("more devices than the machine has", "hardware",
             override("pretrain.parallel.devices=4096", "pretrain.batch_size=4096"),
             "pretrain.parallel.devices=4096: this machine has"),
    BadInput("more processes per node than the machine has, by flag", "hardware",
             lambda tmp: suite(tmp, extra=["--nproc-per-node", "4096", "pretrain.batch_size=4096"]),
             "pretrain.parallel.devices=4096: this machine has"),
    BadInput("several nodes without a cluster", "hardware", override("pretrain.parallel.nodes=2"),
             "pretrain.parallel.nodes=2: several machines need the slurm executor"),
    BadInput("a batch too small to split over the devices", "validation",
             override("pretrain.batch_size=2", "pretrain.parallel.devices=4"),
             "a batch of 2 rows cannot be split over 4 devices"),
    BadInput("ladder tasks without a ladder", "validation", override("pretrain.ladder_tasks=[synthetic_topic]"),
             "names the tasks of a compute ladder's rungs, but the suite has no pretrain.ladder"),
    BadInput("a ladder whose rungs no task uses", "validation",
             override("pretrain.ladder=[0.5,1.0]", "pretrain.ladder_tasks=[]"),
             "names no task, so every rung below 1.0 would be pretrained and never finetuned"),
    BadInput("micro-batches larger than a device's share", "validation",
             override("pretrain.parallel.devices=2", "pretrain.parallel.micro_batch_size=5"),
             "micro_batch_size: 5 rows is more than a device's share of the batch (4 of 8 over 2 devices)"),
    BadInput("one job over several devices on Ray", "hardware",
             override("executor.kind=ray", "pretrain.parallel.devices=2"), "not ray"),
    BadInput("override without a value", "cli", lambda tmp: suite(tmp, extra=["pretrain.lr"]), "KEY=VALUE"),
    # --- suite files that are not suites ----------------------------------------------------------
    BadInput("duplicate top-level key", "yaml", text_suite(TINY_YAML + "name: again\n"), "appears twice"),
    BadInput("duplicate nested key", "yaml",
             text_suite(TINY_YAML.replace("  budget: 3\n", "  budget: 3\n  budget: 4\n")), "appears twice"),
    BadInput("malformed YAML", "yaml", text_suite("name: [unclosed\n"), "malformed YAML"),
    BadInput("a list as a key", "yaml", text_suite(TINY_YAML + "? [a, b]\n: 1\n"), "a key must be a name"),
    BadInput("a list, not a mapping", "yaml", text_suite("- a\n- b\n"), "mapping"),
    BadInput("binary suite file", "yaml", raw_bytes_suite(bytes(range(256)) * 4), "not a text suite file"),
    BadInput("missing suite file", "cli", lambda tmp: ["run", "nowhere.yaml"], "no such suite file"),
    # --- the store's folders --------------------------------------------------------------------------
    BadInput("results_dir is a file", "store", results_dir_is_a_file, "results_dir"),
    BadInput("reports_dir is a file", "store", reports_dir_is_a_file, "reports_dir"),
    BadInput("garbage records file", "store", records_file(b"\x00\x01garbage\n{not json\n"), "records.jsonl"),
    BadInput("records file of plain JSON lines", "store", records_file(b'{"a": 1}\n'), "not a run record"),
    BadInput("empty records file", "store", records_file(b""), "no records"),
    BadInput("records of another schema", "store", other_schema_records, "schema_version"),
    # --- the gate's baseline, judged before anything runs ----------------------------------------------
    BadInput("a baseline with a NaN metric", "store",
             baseline_check(lambda r: r["metrics"].update(f1_macro=float("nan"))), "f1_macro = nan"),
    BadInput("a baseline with an infinite metric, compared", "store",
             baseline_check(lambda r: r["metrics"].update(f1_macro=float("inf")), "compare"), "f1_macro = inf"),
    BadInput("a baseline record without metrics", "store", baseline_check(lambda r: r.pop("metrics")),
             "has no metrics"),
    BadInput("a baseline without its primary metric, compared", "store",
             baseline_check(lambda r: r["metrics"].pop("f1_macro"), "compare"),
             "no value of its primary metric 'f1_macro'"),
    BadInput("a current side without metrics, compared", "store",
             lambda tmp: ["compare", sealed_records(tmp, "baseline.jsonl"),
                          sealed_records(tmp, "current.jsonl", lambda r: r.pop("metrics"))],
             "the current side: run"),
    BadInput("another suite's baseline", "validation", baseline_check(None),
             "baseline.jsonl cannot judge suite 'tiny': config.pretrain.budget differs"),
    BadInput("a baseline of objectives the suite does not run", "validation",
             baseline_check(None, objective="electra"),
             "cannot judge suite 'tiny': it holds no run of this suite's plan (its runs are of suite fixture)"),
    # --- inspect -------------------------------------------------------------------------------------
    BadInput("inspect an empty text", "cli", inspect_case("--text", ""), "--text is empty"),
    BadInput("inspect a text of spaces", "cli", inspect_case("--text", "   "), "--text is empty"),
    BadInput("inspect into a file", "paths", inspect_case("--text", "a cat", "--out", "maps.txt", out_file=True),
             "--out maps.txt is a file"),
    BadInput("inspect a checkpoint cut short", "store", inspect_case("--text", "a cat", manifest=True),
             "checkpoint ckpt is damaged (model.safetensors has"),
    BadInput("inspect weights that are not safetensors", "store", inspect_case("--text", "a cat"),
             "ckpt cannot be loaded as a checkpoint"),
    BadInput("inspect a run id that nothing matches", "cli", lambda tmp: ["inspect", "0123abcd", "--text", "a cat"],
             "'0123abcd': no checkpoint folder and no recorded run"),
    # --- names objbench derives --------------------------------------------------------------------
    BadInput("replicate a suite whose name leaves no room for '-replica'", "paths",
             lambda tmp: suite(tmp, "replicate", name="s" * 96),
             "the replica of suite 'ssss"),
    BadInput("replicate at a precision, a long name", "paths",
             lambda tmp: suite(tmp, "replicate", ["--precision", "bf16"], name="s" * 97, precision="fp32"),
             "replica of suite 'ssss"),
    BadInput("an lm-eval task whose variant name is too long", "validation",
             lambda tmp: suite(tmp, lm_eval_tasks=["t" * 95]), "lm_eval_tasks: task 'tttt"),
    # --- local data ---------------------------------------------------------------------------------
    BadInput("empty local corpus", "data", local_corpus(""), "corpus"),
    BadInput("local corpus shorter than one block", "data", local_corpus("One short sentence.\n"),
             "fewer than one block"),
    BadInput("corpus with fewer blocks than one batch", "data", override("corpus.documents=2"),
             "cannot fill one batch"),
    BadInput("local corpus that is not UTF-8", "data",
             lambda tmp: (tmp / "corpus.txt").write_bytes(b"A fine line.\nA second \xff\xfe line.\n")
             and suite(tmp, corpus={"source": "local", "path": "corpus.txt"}), "corpus.txt, line 2"),
    BadInput("Parquet file that is not Parquet", "data",
             local_task(GOOD_CSV, GOOD_CSV, train_name="train.parquet"), "train.parquet: not a Parquet file"),
    BadInput("corpus file missing", "data",
             lambda tmp: suite(tmp, corpus={"source": "local", "path": "nothing-*.txt"}), "corpus.path"),
    BadInput("CSV with a broken quote", "data",
             local_task(GOOD_CSV + '"an unclosed quote,a\n' + GOOD_CSV.split("\n", 1)[1], GOOD_CSV),
             "train.csv, line 14"),
    BadInput("JSONL with a malformed line", "data",
             local_task("\n".join(json.dumps({"text": f"row {i}", "label": "ab"[i % 2]}) for i in range(6))
                        + "\n{\"text\": broken\n", GOOD_CSV, train_name="train.jsonl"), "train.jsonl, line 7"),
    BadInput("task column missing", "data", local_task(GOOD_CSV, GOOD_CSV, text_column="sentence"), "sentence"),
    BadInput("task file missing", "data",
             lambda tmp: suite(tmp, tasks=["local_classification"], task_params={"local_classification": {
                 "train_path": "gone.csv", "test_path": "gone.csv"}}), "gone.csv"),
    BadInput("empty task file", "data", local_task("text,label\n", GOOD_CSV), "train.csv"),
    BadInput("QA answer not in its context", "data",
             local_text_task("local_extractive_qa", {"qa.csv": "question,context,answer\nWho?,Ann sings.,Bob\n"},
                             train_path="qa.csv", test_path="qa.csv"),
             "qa.csv, row 1, column 'answer': the answer 'Bob' does not occur in the context"),
    BadInput("QA answer off its offset", "data",
             local_text_task("local_extractive_qa", {"qa.csv": "question,context,answer,at\nWho?,Ann sings.,Ann,4\n"},
                             train_path="qa.csv", test_path="qa.csv", answer_start_column="at"),
             "qa.csv, row 1, column 'at': the answer 'Ann' is not at offset 4 of the context"),
    BadInput("SQuAD-layout answer whose offset does not match its text", "data",
             local_text_task("local_extractive_qa", {"qa.jsonl": json.dumps(
                 {"question": "Who sings?", "context": "Ann sings. Bob hums.",
                  "answers": {"text": ["Bob"], "answer_start": [0]}}) + "\n"},
                 train_path="qa.jsonl", test_path="qa.jsonl", answer_column="answers"),
             "qa.jsonl, row 1, column 'answers': the answer 'Bob' is not at offset 0 of the context"),
    BadInput("tokenizer.pretrained that is not a tokenizer", "data", pretrained_tokenizer_of_something_else,
             "tokenizer.pretrained: 'not-a-tokenizer' is not a tokenizer"),
    BadInput("empty translation target", "data",
             local_text_task("local_translation", {"mt.csv": "source,target\neins,one\nzwei,\n"},
                             train_path="mt.csv", test_path="mt.csv"),
             "mt.csv, row 2, column 'target': the target text is empty"),
    BadInput("QA file without the question column", "data",
             local_text_task("local_extractive_qa", {"qa.csv": "query,context,answer\nWho?,Ann sings.,Ann\n"},
                             train_path="qa.csv", test_path="qa.csv"), "question"),
    BadInput("translation file that is not JSON Lines", "data",
             local_text_task("local_translation", {"mt.jsonl": '{"source": "eins", "target": "one"}\n{"source": \n'},
                             train_path="mt.jsonl", test_path="mt.jsonl"), "mt.jsonl, line 2"),
    BadInput("minimal pairs without the bad column", "data",
             local_text_task("local_minimal_pairs", {"pairs.csv": "good,wrong\nA cat sleeps.,A cat sleep.\n"},
                             test_path="pairs.csv"), "bad"),
    BadInput("a classification row of megabytes", "data",
             local_task(GOOD_CSV + f"{HUGE_CELL},a\n", GOOD_CSV),
             "train.csv, row 13, column 'text': a text of 1,100,005 characters, more than the 1,000,000"),
    BadInput("a translation source of megabytes", "data",
             local_text_task("local_translation", {"mt.jsonl": json.dumps({"source": "eins", "target": "one"}) + "\n"
                                                   + json.dumps({"source": HUGE_CELL, "target": "two"}) + "\n"},
                             train_path="mt.jsonl", test_path="mt.jsonl"),
             "mt.jsonl, row 2, column 'source': a text of 1,100,005 characters"),
    BadInput("minimal pair of one sentence twice", "data",
             local_text_task("local_minimal_pairs", {"pairs.csv": "good,bad\nA cat sleeps.,A cat sleeps.\n"},
                             test_path="pairs.csv"),
             "pairs.csv, row 1, column 'bad': the ungrammatical sentence is the grammatical one"),
]
