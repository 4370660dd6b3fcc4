"""A task of lm-evaluation-harness, scored by lm-eval itself on each pretrained checkpoint."""

from __future__ import annotations

import functools
from pathlib import Path

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.errors import ObjbenchError
from benchmark.tasks.base import Params


class LmEvalParams(Params):
    name: str = Field(min_length=1)  # the lm-eval task, e.g. blimp_anaphor_gender_agreement, or one of include_path's
    include_path: str | None = None  # a folder of lm-eval task YAML files (relative to the working directory)
    num_fewshot: int = Field(0, ge=0)  # lm-eval's few-shot examples before each item (0: zero-shot)
    limit: int | None = Field(None, ge=1)  # at most this many items (None: the whole test split)


@functools.lru_cache(maxsize=8)
def task_manager(include_path: str | None):
    """lm-eval's index of its tasks (and those under ``include_path``), built once per process: it reads
    every task file lm-eval ships, which takes seconds."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_path)


@registry.tasks.register("lm_eval")
class LmEvalTask:
    """A task of lm-evaluation-harness (its registry, or your YAML files), scored by lm-eval on each checkpoint.

    Named in a suite as ``lm_eval_tasks: [...]`` (with ``lm_eval_include`` for a folder of task files),
    each becomes a task ``lm_eval_<name>`` of the ``lm_eval`` format: the checkpoint is scored as it
    is, by lm-eval's own ``HFLM``, and recorded like any zero-shot run, with lm-eval's version and
    the task's. The train split is empty; the test split is one row naming the task, which lm-eval
    loads itself (``pip install 'objbench[lm-eval]'``).
    """

    Params = LmEvalParams
    format = "lm_eval"

    def __init__(self, params: LmEvalParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        include = str(Path(p.include_path).resolve()) if p.include_path else None
        if include and not Path(include).is_dir():
            raise ObjbenchError(f"lm_eval task {p.name}: include_path {p.include_path} is not a folder")
        try:
            import lm_eval  # noqa: F401
        except ImportError:
            raise ObjbenchError(f"lm_eval task {p.name}: needs lm-evaluation-harness: "
                                "pip install 'objbench[lm-eval]'") from None
        known = task_manager(include).all_tasks
        if p.name not in known:
            raise ObjbenchError(f"lm_eval task {p.name}: lm-eval knows no such task"
                                + (f" (looked in its registry and {p.include_path})" if include else ""))
        test = datasets.Dataset.from_list([{"name": p.name, "include_path": include or "",
                                            "num_fewshot": p.num_fewshot, "limit": p.limit or 0}])
        return datasets.DatasetDict({"train": test.select([]), "test": test})
