"""Rows of text tasks: text that must be there, and answer spans that must be where they say.

The local tasks read their files with :func:`read_local` and check every row before anything is
subset, so that the first fault is named by its file, its row and its column, in one line. The
Hub tasks turn their data into a format's columns with the same functions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping

import datasets

from benchmark.data import sources
from benchmark.errors import ObjbenchError

Place = Callable[[int], str]  # row index -> "FILE, row N", for error messages

# How an error names the text of each role.
ROLE_WORDS = {"question": "question", "context": "context", "answer": "answer", "source": "source text",
              "target": "target text", "good": "grammatical sentence", "bad": "ungrammatical sentence",
              "phenomenon": "phenomenon"}
QUOTED = 40  # characters of a text quoted in an error


class RowProblem(Exception):
    """A fault in one row's value of ``role``; the caller adds the file, the row and the column."""

    def __init__(self, problem: str, role: str):
        super().__init__(problem)
        self.role = role


def read_local(pattern: str, format: str, setting: str) -> tuple[datasets.Dataset, Place]:
    """The rows of the files ``pattern`` names (every CSV cell as text) and where each row lies.

    ``setting`` names the suite key that gave ``pattern`` (``task_params.<task>.<split>_path``).
    """
    files = sources.resolve_files(pattern, setting)
    format = sources.local_format(files, format, setting)
    data = sources.bounded(sources.load_local(files, format, cells_as_text=True), files, format, True)
    return data, sources.row_places(files, format, True)


def row_error(where: str, place: Place, index: int, columns: Mapping[str, str], problem: RowProblem) -> ObjbenchError:
    """One error line: the entry, the file and row, the column as the user named it, and what is wrong."""
    return ObjbenchError(f"{where}: {place(index)}, column {columns[problem.role]!r}: {problem}")


def require_text(data: datasets.Dataset, roles: Iterable[str], columns: Mapping[str, str], where: str,
                 place: Place) -> None:
    """Every row holds text that is not blank in each of ``roles``; else one error for the first that does not."""
    for role in roles:
        for i, value in enumerate(data[role]):
            try:
                text(value, role)
            except RowProblem as problem:
                raise row_error(where, place, i, columns, problem) from None


def text(value: object, role: str) -> str:
    """``value`` when it is text that is not blank; otherwise a ``RowProblem`` saying what it is."""
    if value is None:
        raise RowProblem(f"the {ROLE_WORDS[role]} is missing", role)
    if not isinstance(value, str):
        raise RowProblem(f"the {ROLE_WORDS[role]} is {quote(value)}, not text", role)
    if not value.strip():
        raise RowProblem(f"the {ROLE_WORDS[role]} is empty", role)
    return value


def quote(value: object) -> str:
    """``value`` as an error shows it: quoted, and cut short when long."""
    if isinstance(value, str) and len(value) > QUOTED:
        value = value[:QUOTED] + "..."
    return repr(value)


QA_FEATURES = datasets.Features({"question": datasets.Value("string"), "context": datasets.Value("string"),
                                 "answer": datasets.Value("string"), "answer_start": datasets.Value("int64"),
                                 "answers": datasets.Sequence(datasets.Value("string"))})


def extractive_qa(data: datasets.Dataset, columns: Mapping[str, str], where: str, place: Place,
                  check_spans: bool = True) -> datasets.Dataset:
    """The extractive_qa format's columns from rows with the roles question, context, answer (and answer_start).

    ``answer`` is SQuAD's schema, ``{"text": [...], "answer_start": [...]}`` (every gold answer
    with its character offset), a list of ``{"text", "answer_start"}`` records or of texts, or one
    text. A text without an offset is looked for in the context (its first occurrence), unless the
    data has an ``answer_start`` column. The first gold answer is the span that finetuning learns
    (``answer``, ``answer_start``); evaluation takes the best match among all of them (``answers``).
    With ``check_spans`` every answer must be text found at its offset; without it (a pinned Hub
    dataset) the offsets are taken as given.
    """
    require_text(data, ("question", "context"), columns, where, place)
    offsets = data["answer_start"] if "answer_start" in data.column_names else itertools.repeat(None)
    rows = {name: [] for name in QA_FEATURES}
    for i, (question, context, answer, offset) in enumerate(zip(data["question"], data["context"], data["answer"],
                                                                offsets)):
        try:
            golds = gold_answers(answer, offset, context, check_spans)
        except RowProblem as problem:
            raise row_error(where, place, i, columns, problem) from None
        rows["question"].append(question)
        rows["context"].append(context)
        rows["answer"].append(golds[0][0])
        rows["answer_start"].append(golds[0][1])
        rows["answers"].append([gold for gold, _ in golds])
    return datasets.Dataset.from_dict(rows, features=QA_FEATURES)


def gold_answers(answer: object, offset: object, context: str, check_spans: bool = True) -> list[tuple[str, int]]:
    """(text, character offset) of every gold answer in one row's ``answer`` (and ``answer_start``) value."""
    if offset is not None and isinstance(answer, (dict, list)):
        raise RowProblem("an answer_start column is for one plain answer text; these answers carry their own offsets "
                         "(leave answer_start_column unset)", "answer_start")
    if isinstance(answer, dict):  # SQuAD's schema: parallel lists
        texts, starts = answer.get("text"), answer.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list):
            raise RowProblem(f"{quote(answer)} is not SQuAD's {{'text': [...], 'answer_start': [...]}}", "answer")
        if len(texts) != len(starts):
            raise RowProblem(f"{len(texts)} answer texts but {len(starts)} answer_start offsets", "answer")
        pairs = list(zip(texts, starts))
    elif isinstance(answer, list):  # several answers: records with their offsets, or texts alone
        pairs = [(a.get("text"), a.get("answer_start")) if isinstance(a, dict) else (a, None) for a in answer]
    else:
        pairs = [(answer, offset)]
    if not pairs:
        raise RowProblem("no answer is given", "answer")
    offset_role = "answer" if offset is None else "answer_start"  # the column that holds the offsets
    return [_span(gold, start, context, check_spans, offset_role) for gold, start in pairs]


def _span(answer: object, start: object, context: str, check: bool, offset_role: str) -> tuple[str, int]:
    answer = text(answer, "answer")
    if start is None:
        found = context.find(answer)
        if found < 0:
            raise RowProblem(f"the answer {quote(answer)} does not occur in the context", "answer")
        return answer, found
    start = _offset(start, offset_role)
    if check and context[start:start + len(answer)] != answer:
        found = context.find(answer)
        where = f"; it occurs at offset {found}" if found >= 0 else "; it does not occur in the context at all"
        raise RowProblem(f"the answer {quote(answer)} is not at offset {start} of the context, which has "
                         f"{quote(context[start:start + len(answer)])} there{where}", offset_role)
    return answer, start


def _offset(value: object, role: str) -> int:
    """A character offset: a whole number from 0 (CSV cells arrive as text)."""
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise RowProblem(f"{quote(value)} is not a character offset (a whole number from 0)", role)
