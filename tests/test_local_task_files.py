"""Local files for every task format: extractive QA (SQuAD's schema or a plain answer), translation and
minimal pairs, read with the same helpers as ``local_classification``; every bad row is one error
naming the file, the row and the column, and test rows also in training are a counted warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark import registry
from benchmark.config import CorpusConfig, FinetuneConfig
from benchmark.errors import ObjbenchError, ObjbenchWarning
from benchmark.formats import zero_shot
from benchmark.models.kinds import ModelKind
from benchmark.tasks.checks import split_checks
from tests import test_data_sources
from tests.test_data_sources import write_local

offline = test_data_sources.offline  # autouse: no network, an empty datasets cache

CONTEXT = "Marie Curie won the Nobel Prize in 1903 and again in 1911."


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def load(name: str, **params):
    task = registry.tasks.get(name)
    return task(task.Params(**params)).load(CorpusConfig())


def one_line_error(name: str, **params) -> str:
    with pytest.raises(ObjbenchError) as err:
        load(name, **params)
    message = str(err.value)
    assert "\n" not in message, message
    return message


# --- extractive QA ---------------------------------------------------------------------------------

def test_squad_schema_answers_keep_every_gold_answer(tmp_path):
    rows = [{"q": "When did she first win?", "ctx": CONTEXT,
             "answers": {"text": ["1903", "in 1903"], "answer_start": [35, 32]}},
            {"q": "Who won?", "ctx": CONTEXT, "answers": {"text": ["Marie Curie"], "answer_start": [0]}}]
    train = jsonl(tmp_path / "train.jsonl", rows)
    test = jsonl(tmp_path / "test.jsonl", rows[:1])
    splits = load("local_extractive_qa", train_path=str(train), test_path=str(test), question_column="q",
                  context_column="ctx", answer_column="answers")
    assert splits["train"].column_names == ["question", "context", "answer", "answer_start", "answers"]
    assert list(splits["train"]["answer"]) == ["1903", "Marie Curie"]
    assert list(splits["train"]["answer_start"]) == [35, 0]
    assert list(splits["train"]["answers"]) == [["1903", "in 1903"], ["Marie Curie"]]
    assert list(splits["test"]["question"]) == ["When did she first win?"]


def test_plain_answers_in_csv_stay_text_and_are_found_or_placed(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("question,context,answer,start\n"
                     f"When?,\"{CONTEXT}\",1911,53\n"
                     "Code?,The code is 007 and NA is a word.,007,12\n"
                     "Word?,The code is 007 and NA is a word.,NA,20\n")
    splits = load("local_extractive_qa", train_path=str(train), test_path=str(train), answer_start_column="start")
    assert list(splits["train"]["answer"]) == ["1911", "007", "NA"]  # not the number 7, not a missing value
    assert list(splits["train"]["answer_start"]) == [53, 12, 20]
    test = tmp_path / "test.csv"
    test.write_text(f"question,context,answer\nWhen again?,\"{CONTEXT}\",1911\nWho?,\"{CONTEXT}\",Curie\n")
    found = load("local_extractive_qa", train_path=str(test), test_path=str(test))
    assert list(found["test"]["answer_start"]) == [53, 6]  # no offset column: the first occurrence
    assert list(found["test"]["answers"]) == [["1911"], ["Curie"]]
    with pytest.raises(ObjbenchError, match=r"local_extractive_qa \(test\): no column 'start' for the answer_start"):
        load("local_extractive_qa", train_path=str(train), test_path=str(test), answer_start_column="start")


QA_FAULTS = {  # case -> (rows of train.jsonl, settings, what the error says after "train.jsonl, row 2, ")
    "span not in the context": (
        [{"question": "Who?", "context": CONTEXT, "answer": "Pierre"}], {},
        "column 'answer': the answer 'Pierre' does not occur in the context"),
    "span not at its offset": (
        [{"question": "When?", "context": CONTEXT, "answer": "1911", "at": 35}], {"answer_start_column": "at"},
        ("column 'at': the answer '1911' is not at offset 35 of the context, which has '1903' there; "
         "it occurs at offset 53")),
    "a SQuAD gold answer off its offset": (
        [{"question": "When?", "context": CONTEXT, "answer": {"text": ["1903", "1911"], "answer_start": [35, 36]}}],
        {}, "column 'answer': the answer '1911' is not at offset 36 of the context"),
    "an empty answer": ([{"question": "Who?", "context": CONTEXT, "answer": "  "}], {},
                        "column 'answer': the answer is empty"),
    "no gold answer": ([{"question": "Who?", "context": CONTEXT, "answer": {"text": [], "answer_start": []}}], {},
                       "column 'answer': no answer is given"),
    "an empty question": ([{"question": "", "context": CONTEXT, "answer": "Curie"}], {},
                          "column 'question': the question is empty"),
    "an offset that is not a character offset": (
        [{"question": "When?", "context": CONTEXT, "answer": "1911", "at": -1}], {"answer_start_column": "at"},
        "column 'at': -1 is not a character offset"),
}


@pytest.mark.parametrize("case", list(QA_FAULTS))
def test_a_bad_qa_row_is_one_error_naming_file_row_and_column(tmp_path, case):
    bad_rows, settings, expected = QA_FAULTS[case]
    squad = isinstance(bad_rows[0]["answer"], dict)  # a JSON column holds one kind of value
    good = {"question": "Who?", "context": CONTEXT,
            "answer": {"text": ["Marie Curie"], "answer_start": [0]} if squad else "Marie Curie",
            **({"at": 0} if settings else {})}
    train = jsonl(tmp_path / "train.jsonl", [good, *bad_rows])
    message = one_line_error("local_extractive_qa", train_path=str(train), test_path=str(train), **settings)
    assert message.startswith(f"task_params.local_extractive_qa: {train}, row 2, {expected}"), message


def test_the_faulty_file_of_a_glob_is_named_with_its_own_row(tmp_path):
    (tmp_path / "data").mkdir()
    good = [{"question": f"Who {i}?", "context": CONTEXT, "answer": "Curie"} for i in range(3)]
    jsonl(tmp_path / "data" / "a.jsonl", good)
    second = jsonl(tmp_path / "data" / "b.jsonl", [good[0], {"question": "Who?", "context": CONTEXT, "answer": "X"}])
    message = one_line_error("local_extractive_qa", train_path=str(tmp_path / "data" / "*.jsonl"),
                             test_path=str(second))
    assert f"{second}, row 2, column 'answer': the answer 'X' does not occur" in message


def test_qa_columns_are_mapped_with_the_usual_error(tmp_path):
    train = jsonl(tmp_path / "train.jsonl", [{"question": "Who?", "passage": CONTEXT, "answer": "Curie"}])
    message = one_line_error("local_extractive_qa", train_path=str(train), test_path=str(train))
    assert "(train): no column 'context' for the context (the data has: question, passage, answer)" in message


# --- translation -----------------------------------------------------------------------------------

def test_translation_pairs_from_csv_and_parquet(tmp_path):
    train = write_local(tmp_path / "train.csv", [{"de": f"Satz {i}", "en": f"sentence {i}"} for i in range(5)])
    test = write_local(tmp_path / "test.parquet", [{"de": "Hallo", "en": "hello", "id": 1}])
    splits = load("local_translation", train_path=str(train), test_path=str(test), source_column="de",
                  target_column="en", train_size=3)
    assert splits["train"].column_names == ["source", "target"] and len(splits["train"]) == 3
    assert all(t == s.replace("Satz", "sentence") for s, t in zip(splits["train"]["source"], splits["train"]["target"]))
    assert list(splits["test"]["source"]) == ["Hallo"] and list(splits["test"]["target"]) == ["hello"]


@pytest.mark.parametrize("text, problem", [("", "the target text is empty"),
                                           (None, "the target text is missing")])
def test_a_blank_target_is_one_error(tmp_path, text, problem):
    rows = [{"source": "eins", "target": "one"}, {"source": "zwei", "target": "two"},
            {"source": "drei", "target": text}]
    train = jsonl(tmp_path / "train.jsonl", rows)
    message = one_line_error("local_translation", train_path=str(train), test_path=str(train))
    assert message == f"task_params.local_translation: {train}, row 3, column 'target': {problem}"


def test_numbers_where_text_belongs_are_named(tmp_path):
    train = jsonl(tmp_path / "train.jsonl", [{"source": "eins", "target": 1}, {"source": "zwei", "target": 2}])
    message = one_line_error("local_translation", train_path=str(train), test_path=str(train))
    assert message == f"task_params.local_translation: {train}, row 1, column 'target': the target text is 1, not text"


def test_an_empty_csv_cell_is_an_empty_source(tmp_path):
    train = tmp_path / "train.csv"
    train.write_text("source,target\neins,one\n,two\n")
    message = one_line_error("local_translation", train_path=str(train), test_path=str(train))
    assert message == f"task_params.local_translation: {train}, row 2, column 'source': the source text is empty"


def test_test_rows_also_in_training_are_a_counted_warning(tmp_path):
    train = jsonl(tmp_path / "train.jsonl", [{"source": f"s{i}", "target": f"t{i}"} for i in range(6)])
    test = jsonl(tmp_path / "test.jsonl", [{"source": s, "target": "x"} for s in ("s1", "s4", "new", "other")])
    splits = load("local_translation", train_path=str(train), test_path=str(test))
    with pytest.warns(ObjbenchWarning, match=r"task local_translation: 2 of 4 test rows also occur in training"):
        checks = split_checks("local_translation", splits)
    assert checks == {"test_rows": 4, "test_rows_also_in_train": 2}

    qa = {"question": "Who?", "context": CONTEXT, "answer": "Curie"}
    qa_train = jsonl(tmp_path / "qa_train.jsonl", [qa, {**qa, "question": "Who won?"}])
    qa_test = jsonl(tmp_path / "qa_test.jsonl", [qa, {**qa, "question": "Who won what?"}, qa])
    qa_splits = load("local_extractive_qa", train_path=str(qa_train), test_path=str(qa_test))
    with pytest.warns(ObjbenchWarning, match=r"2 of 3 test rows also occur in training"):
        assert split_checks("local_extractive_qa", qa_splits)["test_rows_also_in_train"] == 2


# --- minimal pairs -----------------------------------------------------------------------------------

PAIRS = [{"sentence_good": "The dog barks.", "sentence_bad": "The dog bark.", "UID": "agreement"},
         {"sentence_good": "The dogs bark loudly.", "sentence_bad": "The dogs barks loudly.", "UID": "agreement"},
         {"sentence_good": "Who did you see?", "sentence_bad": "Who did you see him?", "UID": "filler_gap"}]


def shorter_is_better(model, sentences, tokenizer, kind, batch_size, device, precision="fp32"):
    return torch.tensor([-float(len(s)) for s in sentences])


def test_minimal_pairs_with_and_without_phenomena(tmp_path, monkeypatch):
    path = jsonl(tmp_path / "blimp_like.jsonl", PAIRS)
    by_phenomenon = load("local_minimal_pairs", test_path=str(path), good_column="sentence_good",
                         bad_column="sentence_bad", phenomenon_column="UID")
    assert len(by_phenomenon["train"]) == 0 and by_phenomenon["test"].column_names == ["good", "bad", "phenomenon"]
    monkeypatch.setattr(zero_shot, "sentence_scores", shorter_is_better)
    fmt, recipe = registry.formats.get("zero_shot")(), FinetuneConfig(batch_size=4, max_length=32, seeds=[0])
    metrics, _ = fmt.evaluate(torch.nn.Identity(), by_phenomenon["test"], None, recipe, ModelKind.CAUSAL,
                              torch.device("cpu"), "fp32")
    # "The dog barks." is longer than "The dog bark.": the one pair a length preference gets wrong.
    # The margins in characters are -1, +1 and +4: a mean of 4/3.
    assert metrics == pytest.approx({"accuracy": 2 / 3, "accuracy_agreement": 1 / 2, "accuracy_filler_gap": 1.0,
                                     "logprob_margin": 4 / 3})
    plain = load("local_minimal_pairs", test_path=str(path), good_column="sentence_good", bad_column="sentence_bad")
    assert plain["test"].column_names == ["good", "bad"]
    metrics, _ = fmt.evaluate(torch.nn.Identity(), plain["test"], None, recipe, ModelKind.CAUSAL,
                              torch.device("cpu"), "fp32")
    assert metrics == pytest.approx({"accuracy": 2 / 3, "logprob_margin": 4 / 3})


@pytest.mark.parametrize("row, column, problem", [
    ({"good": "", "bad": "The dog bark."}, "good", "the grammatical sentence is empty"),
    ({"good": "The dog barks.", "bad": None}, "bad", "the ungrammatical sentence is missing"),
    ({"good": "The dog barks.", "bad": "The dog barks."}, "bad",
     "the ungrammatical sentence is the grammatical one, 'The dog barks.'"),
    ({"good": "The dog barks.", "bad": "The dog bark.", "kind": " "}, "kind", "the phenomenon is empty"),
])
def test_a_bad_pair_is_one_error(tmp_path, row, column, problem):
    path = jsonl(tmp_path / "pairs.jsonl", [{"good": "A cat sleeps.", "bad": "A cat sleep.", "kind": "sva"},
                                            {"kind": "sva", **row}])
    message = one_line_error("local_minimal_pairs", test_path=str(path), phenomenon_column="kind")
    assert message == f"task_params.local_minimal_pairs: {path}, row 2, column '{column}': {problem}"
