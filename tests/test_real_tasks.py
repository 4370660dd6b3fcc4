"""Hub tasks with real data (SQuAD, WMT16 ro-en, BLiMP), their metrics, and the one-line error for
every Hub dataset missing offline.

As in ``test_data_sources``, no test reaches the network: the Hub is switched off, the datasets
cache is empty, and the loaders read local mirrors written with the real datasets' layout and
columns (``rajpurkar/squad``: ``plain_text`` with ``answers`` as ``{text: [...], answer_start:
[...]}``; ``wmt/wmt16``: ``ro-en`` with a ``translation`` record; ``nyu-mll/blimp``: one config per
paradigm, split ``train``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from benchmark import registry
from benchmark.config import CorpusConfig, FinetuneConfig, validate_suite
from benchmark.data import sources
from benchmark.errors import ObjbenchError
from benchmark.formats import extractive_qa, text_metrics, zero_shot
from benchmark.formats.text_metrics import answer_scores, sacrebleu_scores
from benchmark.models.kinds import ModelKind
from benchmark.tasks.availability import check_tasks_available
from benchmark.tasks.blimp import PARADIGMS, chosen
from tests import test_data_sources
from tests.helpers import tiny_raw
from tests.test_data_sources import write_hub_mirror

offline = test_data_sources.offline  # autouse: no network, an empty datasets cache
hub_mirror = test_data_sources.hub_mirror  # OBJBENCH_HUB_MIRROR pointed at a temporary folder

CPU = torch.device("cpu")
RECIPE = FinetuneConfig(epochs=1, batch_size=4, max_length=48, seeds=[0])


def load(name: str, **params):
    task = registry.tasks.get(name)
    return task(task.Params(**params)).load(CorpusConfig())


# --- SQuAD ---------------------------------------------------------------------------------------

CONTEXT = "The Eiffel Tower was finished in March 1889 by Gustave Eiffel's company."


def squad_rows(n: int, answers: list[dict]) -> dict:
    return {"id": [f"q{i}" for i in range(n)], "title": ["Eiffel_Tower"] * n, "context": [CONTEXT] * n,
            "question": [f"question {i}?" for i in range(n)], "answers": answers}


def test_squad_reads_the_hub_layout_and_keeps_every_gold_answer(hub_mirror):
    train = [{"text": ["March 1889"], "answer_start": [33]}, {"text": ["Gustave Eiffel"], "answer_start": [47]},
             {"text": ["Eiffel Tower"], "answer_start": [4]}]
    validation = [{"text": ["1889", "March 1889", "1889"], "answer_start": [39, 33, 39]},
                  {"text": ["Gustave Eiffel's company", "Gustave Eiffel"], "answer_start": [47, 47]}]
    write_hub_mirror(hub_mirror, "rajpurkar/squad", {"plain_text": {"train": squad_rows(3, train),
                                                                    "validation": squad_rows(2, validation)}})
    splits = load("squad")
    assert splits["train"].column_names == ["question", "context", "answer", "answer_start", "answers"]
    assert list(splits["train"]["answer"]) == ["March 1889", "Gustave Eiffel", "Eiffel Tower"]
    assert list(splits["train"]["answer_start"]) == [33, 47, 4]
    assert list(splits["test"]["answer"]) == ["1889", "Gustave Eiffel's company"]  # the first gold is the span
    assert list(splits["test"]["answers"]) == [["1889", "March 1889", "1889"],
                                               ["Gustave Eiffel's company", "Gustave Eiffel"]]
    for context, answer, start in zip(splits["train"]["context"], splits["train"]["answer"],
                                      splits["train"]["answer_start"]):
        assert context[start:start + len(answer)] == answer
    assert len(load("squad", train_size=2)["train"]) == 2


def test_squad_exact_match_and_f1_take_the_best_gold_answer():
    predictions = ["the Eiffel Tower", "in 1889 Paris", "Gustave"]
    golds = [["Eiffel Tower", "tower"], ["1889", "March 1889"], ["Eiffel", "Gustave Eiffel"]]
    # 1: "eiffel tower" after normalisation (the article goes): EM 1, F1 1.
    # 2: P 1/3, R 1 against "1889" -> F1 1/2 (against "march 1889": P 1/3, R 1/2 -> 0.4); EM 0.
    # 3: against "gustave eiffel" P 1, R 1/2 -> F1 2/3 (against the first gold, "eiffel": 0); EM 0.
    assert answer_scores(predictions, golds) == pytest.approx({"exact_match": 1 / 3, "f1": 13 / 18})
    first_only = answer_scores(predictions, [g[0] for g in golds])
    assert first_only == pytest.approx({"exact_match": 1 / 3, "f1": (1 + 1 / 2 + 0) / 3})


def test_the_extractive_qa_format_scores_against_every_gold_answer(hub_mirror, tiny_setup, monkeypatch):
    validation = [{"text": ["1889", "March 1889"], "answer_start": [39, 33]},
                  {"text": ["Gustave Eiffel"], "answer_start": [47]}]
    write_hub_mirror(hub_mirror, "rajpurkar/squad", {"plain_text": {"train": squad_rows(2, validation),
                                                                    "validation": squad_rows(2, validation)}})
    test = load("squad")["test"]
    seen = {}

    def recording(predictions, references):
        seen["references"] = references
        return answer_scores(predictions, references)
    monkeypatch.setattr(extractive_qa, "answer_scores", recording)
    fmt = registry.formats.get("extractive_qa")()
    torch.manual_seed(0)
    model = fmt.build(registry.models.get("llama"), None, tiny_setup, test, ModelKind.CAUSAL)
    metrics, stats = fmt.evaluate(model, test, tiny_setup.tokenizer, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    assert seen["references"] == [["1889", "March 1889"], ["Gustave Eiffel"]]
    assert 0.0 <= metrics["exact_match"] <= metrics["f1"] <= 1.0 and stats["examples"] == 2


def test_answers_no_window_holds_whole_are_one_clear_error(hub_mirror, tiny_setup):
    # At 12 tokens a window holds a few context tokens and overlaps the next by one: a long answer fits in none.
    late = [{"text": ["Gustave Eiffel's company"], "answer_start": [CONTEXT.index("Gustave")]}] * 2
    write_hub_mirror(hub_mirror, "rajpurkar/squad", {"plain_text": {"train": squad_rows(2, late),
                                                                    "validation": squad_rows(2, late)}})
    train = load("squad")["train"]
    fmt = registry.formats.get("extractive_qa")()
    model = fmt.build(registry.models.get("llama"), None, tiny_setup, train, ModelKind.CAUSAL)
    short = RECIPE.model_copy(update={"max_length": 12})
    with pytest.raises(ObjbenchError, match=r"no training answer fits whole in a window of 12 tokens.*finetune\.max_length"):
        fmt.finetune(model, train, tiny_setup.tokenizer, short, ModelKind.CAUSAL, 0, CPU, "fp32")


# --- WMT16 ro-en ---------------------------------------------------------------------------------

def test_wmt16_reads_translation_records_in_either_direction(hub_mirror):
    def pairs(prefix: str, n: int) -> dict:
        return {"translation": [{"ro": f"{prefix} propoziția {i}", "en": f"{prefix} sentence {i}"} for i in range(n)]}
    write_hub_mirror(hub_mirror, "wmt/wmt16", {"ro-en": {"train": pairs("train", 6), "validation": pairs("dev", 2),
                                                         "test": pairs("test", 3)}})
    splits = load("wmt16_ro_en")
    assert splits["train"].column_names == ["source", "target"]
    assert list(splits["test"]["source"]) == [f"test propoziția {i}" for i in range(3)]  # newstest, not validation
    assert list(splits["test"]["target"]) == [f"test sentence {i}" for i in range(3)]
    english_first = load("wmt16_ro_en", source_language="en", train_size=4)
    assert len(english_first["train"]) == 4
    for source, target in zip(english_first["train"]["source"], english_first["train"]["target"]):
        assert source.startswith("train sentence") and target == source.replace("sentence", "propoziția")


def test_translation_scores_are_cased_with_lower_cased_variants_and_carry_sacrebleu_signatures():
    scores, signatures = sacrebleu_scores(["the cat sat on the mat ."], ["The cat sat on the Mat ."])
    assert scores["bleu_lc"] == pytest.approx(100.0) and scores["chrf_lc"] == pytest.approx(100.0)
    assert scores["bleu"] < 60 and scores["chrf"] < 90  # a wrong case costs, as in WMT's cased scores
    assert signatures["bleu"].startswith("nrefs:1|case:mixed|") and "|tok:13a|" in signatures["bleu"]
    assert signatures["chrf"].startswith("nrefs:1|case:mixed|") and "|nc:6|" in signatures["chrf"]
    assert signatures["chrf_lc"].startswith("nrefs:1|case:lc|")
    assert re.search(r"\|version:\d+\.\d+", signatures["bleu"])
    assert text_metrics.translation_scores(["Ţară şi câine"], ["Ţară şi câine"])["chrf"] == pytest.approx(100.0)


def test_the_translation_format_records_the_signatures(tiny_setup):
    import datasets

    split = datasets.Dataset.from_dict({"source": ["a kat is big ."], "target": ["tuk na pekta ."]})
    fmt = registry.formats.get("translation")()
    torch.manual_seed(0)
    model = fmt.build(registry.models.get("llama"), None, tiny_setup, split, ModelKind.CAUSAL)
    metrics, stats = fmt.evaluate(model, split, tiny_setup.tokenizer, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    assert set(metrics) == {"bleu", "chrf", "bleu_lc", "chrf_lc", "ref_token_logprob"}
    assert stats["bleu_signature"].startswith("nrefs:1|case:mixed|") and stats["chrf_signature"].startswith("nrefs:1|")
    assert stats["max_new_tokens"]["ceiling"] == RECIPE.max_length and stats["cut_by_cap"] in (0, 1)


# --- BLiMP ---------------------------------------------------------------------------------------

def blimp_rows(paradigm: str, term: str, n: int = 3) -> dict:
    """Rows with BLiMP's columns: pair i's good sentence is short, its bad one long (see ``by_length``)."""
    return {"sentence_good": [f"{paradigm} good {i}." for i in range(n)],
            "sentence_bad": [f"{paradigm} bad sentence number {i}." for i in range(n)],
            "field": ["syntax"] * n, "linguistics_term": [term] * n, "UID": [paradigm] * n,
            "simple_LM_method": [True] * n, "one_prefix_method": [False] * n, "two_prefix_method": [False] * n,
            "lexically_identical": [False] * n, "pair_id": list(range(n))}


@pytest.fixture
def blimp_mirror(hub_mirror):
    write_hub_mirror(hub_mirror, "nyu-mll/blimp", {
        "anaphor_gender_agreement": {"train": blimp_rows("anaphor_gender_agreement", "anaphor_agreement")},
        "anaphor_number_agreement": {"train": blimp_rows("anaphor_number_agreement", "anaphor_agreement")},
        "passive_1": {"train": blimp_rows("passive_1", "argument_structure")},
    })
    return hub_mirror


def by_length(model, sentences, tokenizer, kind, batch_size, device, precision="fp32"):
    """A stand-in for the likelihood: shorter sentences score higher, except those that mention "number 2"."""
    return torch.tensor([-float(len(s)) + (1000.0 if "number 2" in s else 0.0) for s in sentences])


def test_blimp_reads_one_config_per_paradigm(blimp_mirror):
    splits = load("blimp", paradigms="passive_1, anaphor_gender_agreement", pairs_per_paradigm=2)
    assert len(splits["train"]) == 0 and splits["train"].column_names == ["good", "bad", "phenomenon"]
    test = splits["test"]
    assert len(test) == 4
    assert list(test["phenomenon"]) == ["passive_1"] * 2 + ["anaphor_gender_agreement"] * 2  # in the order named
    assert all(good.startswith(p) and "good" in good and "bad" in bad
               for good, bad, p in zip(test["good"], test["bad"], test["phenomenon"]))
    grouped = load("blimp", paradigms="anaphor_gender_agreement,anaphor_number_agreement,passive_1",
                   phenomenon="linguistics_term")
    assert list(grouped["test"]["phenomenon"]) == ["anaphor_agreement"] * 6 + ["argument_structure"] * 3


def test_blimp_accuracy_per_paradigm_and_overall_with_the_zero_shot_scoring(blimp_mirror, monkeypatch):
    monkeypatch.setattr(zero_shot, "sentence_scores", by_length)
    fmt = registry.formats.get("zero_shot")()
    test = load("blimp", paradigms="anaphor_gender_agreement,anaphor_number_agreement,passive_1")["test"]
    metrics, stats = fmt.evaluate(torch.nn.Identity(), test, None, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    # Pair 2 of each paradigm is lost: its bad sentence says "number 2" and scores higher.
    good, bad = (by_length(None, list(test[column]), None, None, 0, CPU) for column in ("good", "bad"))
    assert metrics == pytest.approx({"accuracy": 6 / 9, "accuracy_anaphor_gender_agreement": 2 / 3,
                                     "accuracy_anaphor_number_agreement": 2 / 3, "accuracy_passive_1": 2 / 3,
                                     "logprob_margin": float((good - bad).mean())})
    assert stats["examples"] == 9
    grouped = load("blimp", paradigms="anaphor_gender_agreement,passive_1", pairs_per_paradigm=2,
                   phenomenon="linguistics_term", subset_seed=3)["test"]
    metrics, _ = fmt.evaluate(torch.nn.Identity(), grouped, None, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    assert set(metrics) == {"accuracy", "accuracy_anaphor_agreement", "accuracy_argument_structure", "logprob_margin"}


def test_blimp_paradigm_names_are_checked(tmp_path):
    params = registry.tasks.get("blimp").Params
    assert len(PARADIGMS) == len(set(PARADIGMS)) == 67 and chosen(params().paradigms) == PARADIGMS  # all, by default
    assert chosen("passive_1, wh_island,passive_1") == ("passive_1", "wh_island")
    with pytest.raises(ValueError, match=r"at least one"):
        params(paradigms=" , ")
    raw = tiny_raw(tmp_path, tasks=["blimp"], task_params={"blimp": {"paradigms": "passive_1,pasive_2"}})
    with pytest.raises(ObjbenchError) as err:
        validate_suite(raw)
    assert "\n" not in str(err.value)
    assert "unknown BLiMP paradigm 'pasive_2'; did you mean 'passive_2'?" in str(err.value)


# --- pins and offline ------------------------------------------------------------------------------

@pytest.mark.parametrize("task, dataset", [("squad", "rajpurkar/squad"), ("wmt16_ro_en", "wmt/wmt16"),
                                           ("blimp", "nyu-mll/blimp")])
def test_hub_tasks_read_a_pinned_commit(task, dataset):
    revision = registry.tasks.get(task).Params().revision
    assert revision == sources.REVISIONS[dataset]
    assert re.fullmatch(r"[0-9a-f]{40}", revision), "a commit sha, never a moving branch"


def test_every_missing_hub_dataset_is_named_in_one_error(tmp_path):
    suite = validate_suite(tiny_raw(tmp_path, tasks=["squad", "synthetic_topic", "wmt16_ro_en", "blimp", "sst2"]))
    read = []

    def load_task(name):
        read.append(name)
        return registry.tasks.get(name)(suite.task_settings(name)).load(suite.corpus)
    with pytest.raises(ObjbenchError) as err:
        check_tasks_available(suite, load_task, suite_file="suites/real.yaml")
    message = str(err.value)
    assert read == ["squad", "synthetic_topic", "wmt16_ro_en", "blimp", "sst2"]  # every task was tried
    assert "\n" not in message and message.startswith("4 Hub datasets are not in the local cache")
    for named in ("rajpurkar/squad (plain_text)", "wmt/wmt16 (ro-en)", "nyu-mll/blimp (adjunct_island)",
                  "nyu-mll/glue (sst2)", "(task squad)", "(task blimp)"):
        assert named in message, named
    assert "synthetic_topic" not in message
    assert message.endswith("run `objbench fetch suites/real.yaml` where the Hugging Face Hub is reachable, "
                            "then run offline")


def test_availability_passes_and_other_problems_are_not_hidden(tmp_path, hub_mirror):
    write_hub_mirror(hub_mirror, "wmt/wmt16", {"ro-en": {split: {"translation": [{"ro": "a", "en": "b"}]}
                                                         for split in ("train", "validation", "test")}})
    check_tasks_available(validate_suite(tiny_raw(tmp_path, tasks=["wmt16_ro_en", "synthetic_topic"])))
    local = {"local_translation": {"train_path": str(tmp_path / "none.csv"), "test_path": str(tmp_path / "none.csv")}}
    suite = validate_suite(tiny_raw(tmp_path, tasks=["local_translation", "wmt16_ro_en"], task_params=local))
    with pytest.raises(ObjbenchError, match=r"local_translation\.train_path: no file matches"):
        check_tasks_available(suite)


@pytest.mark.parametrize("verb", ["run", "check", "replicate"])
def test_the_cli_names_every_missing_dataset_in_one_line_before_anything_runs(tmp_path, capsys, verb):
    from benchmark.cli import main
    from tests.helpers import write_suite

    path = write_suite(tmp_path / "real.yaml", tiny_raw(tmp_path, tasks=["squad", "synthetic_topic", "blimp"]))
    baseline = Path(__file__).parents[1] / "reports" / "ci" / "records.jsonl"  # a usable one: checked first
    extra = ["--baseline", str(baseline)] if verb == "check" else []
    assert main([verb, str(path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("objbench: error: 2 Hub datasets are not in the local cache")
    assert "rajpurkar/squad" in err and "nyu-mll/blimp" in err and f"objbench fetch {path}" in err
    assert not (tmp_path / "results" / "tiny").exists()  # nothing was trained or recorded
