"""Minimal pairs from your own file: a grammatical and an ungrammatical sentence in each row, scored zero-shot."""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks import rows
from benchmark.tasks.base import Params


class LocalMinimalPairsParams(Params):
    test_path: str  # a file or glob, relative to the working directory; nothing is finetuned, so no train_path
    format: Literal["auto", "json", "csv", "parquet"] = "auto"  # auto: by extension (.jsonl/.json, .csv, .parquet)
    good_column: str = "good"  # the grammatical sentence (BLiMP's own files: sentence_good)
    bad_column: str = "bad"  # the ungrammatical one (BLiMP's own files: sentence_bad)
    phenomenon_column: str | None = None  # set for accuracy per phenomenon as well (BLiMP's own files: UID)
    test_size: int | None = Field(None, ge=1)  # None: every row; a number: a fixed random subset
    subset_seed: int = 0  # which subset: the same pairs for every objective


@registry.tasks.register("local_minimal_pairs")
class LocalMinimalPairs:
    """Minimal pairs from your own file: a grammatical and an ungrammatical sentence in each row, scored zero-shot.

    ``test_path`` is read as in ``local_classification`` (CSV cells as text); ``good_column``
    and ``bad_column`` hold the two sentences, and ``phenomenon_column``, when set, what each
    pair tests, for accuracy per phenomenon beside the overall accuracy. Scored by the
    ``zero_shot`` format, as ``blimp`` and ``synthetic_minimal_pairs`` are; the train split is
    empty. A blank sentence or phenomenon, or a pair whose two sentences are the same (no model
    could prefer one), is one error naming the file, the row and the column.
    """

    Params = LocalMinimalPairsParams
    format = "zero_shot"

    def __init__(self, params: LocalMinimalPairsParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        where, columns = "task_params.local_minimal_pairs", sources.column_map(p)
        data, place = rows.read_local(p.test_path, p.format, f"{where}.test_path")
        pairs = sources.select_columns(data, columns, where)
        rows.require_text(pairs, columns.keys(), columns, where, place)
        for i, (good, bad) in enumerate(zip(pairs["good"], pairs["bad"])):
            if good == bad:
                raise rows.row_error(where, place, i, columns, rows.RowProblem(
                    f"the ungrammatical sentence is the grammatical one, {rows.quote(good)}", "bad"))
        test = sources.subset(pairs, p.test_size, p.subset_seed)
        return datasets.DatasetDict({"train": test.select([]), "test": test})
