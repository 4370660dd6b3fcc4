"""Suite files -> typed, validated config.

A suite is flat YAML: names plus scalar settings. It loads into the pydantic models below
(unknown keys are errors), entry names are checked against the registries, and each
objective's and task's own settings are validated against that entry's ``Params`` model.
Every default lives in a field declaration, with the reason for it beside it.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from benchmark import registry
from benchmark.corpus_config import CorpusConfig, Strict
from benchmark.errors import ObjbenchError
from benchmark.paths import check_folder, check_name, derived_name
from benchmark.recipe_config import (
    HUB_ID,
    CheckConfig,
    ExecutorConfig,
    FinetuneConfig,
    PretrainConfig,
    PublishedConfig,
    TokenizerConfig,
    TrackingConfig,
    listed_once,
)

Scalar = bool | int | float | str


class Suite(Strict):
    """One comparison: the product of models x objectives x tasks, minus ``exclude``."""

    name: str
    models: list[str] = Field(min_length=1)
    # model preset(s), looked up on each model entry; a list compares objectives within each size
    # and asks whether their ordering holds across sizes: [tiny, small]
    size: str | list[str] = "tiny"
    objectives: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)  # "model/objective/task" globs, e.g. "*/clm/*"
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 autocast where the device has it
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = Field(default_factory=FinetuneConfig)
    objective_params: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    # Named settings of a registered objective, listed in `objectives` like any other, so a
    # suite can sweep one hyperparameter: {mlm_50: {objective: mlm, mask_rate: 0.5}}.
    variants: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    task_params: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    # Named instances of a registered task, listed in `tasks` like any other, so one suite can
    # hold two datasets of one format: {topics: {task: local_classification, train_path: ...}}.
    task_variants: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    # Classical baselines (TF-IDF + LR, n-gram and HMM LMs, ...), each on every task whose format
    # it serves, on the same splits, recorded like any run and marked as a baseline on the board.
    baselines: list[str] = Field(default_factory=list)
    # Published checkpoints, finetuned only: {bert_small: {path: google/bert_uncased_L-4_H-512_A-8,
    # objective: mlm, kind: encoder}}; each is a model of its own on the board, on every task.
    pretrained: dict[str, PublishedConfig] = Field(default_factory=dict)
    baseline_params: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    check: CheckConfig = Field(default_factory=CheckConfig)  # regression gate: tolerances per task and for speed
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)  # where runs go: local, ray or slurm
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)  # experiment trackers: tensorboard, mlflow, ...
    # lm-evaluation-harness tasks, scored by lm-eval on every checkpoint it can score (causal decoders and
    # encoder-decoders), each a task `lm_eval_<name>` of the lm_eval format; lm_eval_include: a folder of
    # lm-eval task YAML files (relative to the working directory) for tasks of your own.
    lm_eval_tasks: list[str] = Field(default_factory=list)
    lm_eval_include: str | None = None
    results_dir: str = "results"  # run records and caches
    reports_dir: str = "reports"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        return check_name(name)  # it names the suite's folders under results_dir and reports_dir

    @field_validator("pretrained")
    @classmethod
    def _checkpoints(cls, pretrained: dict[str, PublishedConfig]) -> dict[str, PublishedConfig]:
        for name, spec in pretrained.items():
            check_name(name)
            if name in registry.models:
                raise ValueError(f"{name}: the name of a registered model; pick another")
            if spec.objective not in registry.objectives:
                raise ValueError(f"{name}.objective: {registry.objectives.unknown_message(spec.objective)}")
            local = Path(spec.path).expanduser()
            if local.exists():
                if not (local / "config.json").is_file():
                    raise ValueError(f"{name}.path: {spec.path} is not a checkpoint (no config.json)")
            elif not re.match(HUB_ID, spec.path):
                raise ValueError(f"{name}.path: {spec.path} is neither a folder nor a Hugging Face Hub id")
        return pretrained

    @field_validator("variants", "task_variants")
    @classmethod
    def _safe_variant_names(cls, variants: dict) -> dict:
        for name in variants:
            check_name(name)
        return variants

    @field_validator("results_dir", "reports_dir")
    @classmethod
    def _folders(cls, path: str, info) -> str:
        check_folder(path, info.field_name)
        return path

    @field_validator("size")
    @classmethod
    def _sizes(cls, size: str | list[str]) -> str | list[str]:
        if isinstance(size, list):
            if not size:
                raise ValueError("an empty list of sizes")
            cls._unique(size)
        return size

    @property
    def sizes(self) -> list[str]:
        """Every size the suite runs, in its order."""
        return [self.size] if isinstance(self.size, str) else list(self.size)

    @field_validator("models", "objectives", "tasks", "baselines")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        return listed_once(names)

    @model_validator(mode="before")
    @classmethod
    def _lm_eval_tasks_are_tasks(cls, raw: Any) -> Any:
        """Each of ``lm_eval_tasks`` as a variant ``lm_eval_<name>`` of the ``lm_eval`` task, listed in ``tasks``."""
        if not isinstance(raw, dict) or not raw.get("lm_eval_tasks") or not isinstance(raw["lm_eval_tasks"], list):
            return raw
        raw, variants, tasks = dict(raw), dict(raw.get("task_variants") or {}), list(raw.get("tasks") or [])
        include = {"include_path": raw["lm_eval_include"]} if raw.get("lm_eval_include") else {}
        for name in raw["lm_eval_tasks"]:
            try:
                variant = derived_name("lm_eval_", str(name), f"lm_eval_tasks: task {name!r}'s variant")
            except ObjbenchError as err:
                raise ValueError(str(err)) from None
            variants.setdefault(variant, {"task": "lm_eval", "name": str(name), **include})
            tasks += [] if variant in tasks else [variant]
        raw.update(task_variants=variants, tasks=tasks)
        return raw

    @model_validator(mode="after")
    def _known_names(self) -> Suite:
        _check_variants(self.variants, "variants", "objective", registry.objectives)
        _check_variants(self.task_variants, "task_variants", "task", registry.tasks)
        own_variants = {"objectives": self.variants, "tasks": self.task_variants}
        for field, reg in (("models", registry.models), ("objectives", registry.objectives), ("tasks", registry.tasks)):
            for name in getattr(self, field):
                if name not in reg and name not in own_variants.get(field, {}):
                    raise ValueError(f"{field}: {reg.unknown_message(name)}")
        for name in self.baselines:
            if name not in registry.baselines:
                raise ValueError(f"baselines: {registry.baselines.unknown_message(name)}")
            if name in self.objectives or name in self.variants:
                raise ValueError(f"baselines: {name!r} is also listed as an objective")
        for name, settings in self.baseline_params.items():
            if name not in self.baselines:
                raise ValueError(f"baseline_params.{name}: not among the suite's baselines")
            try:
                registry.baselines.get(name).Params(**settings)
            except ValidationError as err:
                raise ValueError(f"baseline_params.{name}.{_first_error(err)}") from None
        for name in self.tracking.to:
            if name not in registry.trackers:
                raise ValueError(f"tracking: {registry.trackers.unknown_message(name)}")
        for name in self.pretrain.ladder_tasks or []:  # a known task the suite does not run is left out, not refused
            if name not in registry.tasks and name not in self.task_variants:
                raise ValueError(f"pretrain.ladder_tasks: {registry.tasks.unknown_message(name)}")
        ladder_tasks = self.pretrain.ladder_tasks
        if ladder_tasks is not None and not self.pretrain.ladder:
            raise ValueError("pretrain.ladder_tasks: names the tasks of a compute ladder's rungs, but the suite has "
                             "no pretrain.ladder")
        if ladder_tasks == [] and self.pretrain.ladder:
            raise ValueError("pretrain.ladder_tasks: [] names no task, so every rung below 1.0 would be pretrained "
                             "and never finetuned; name a task, leave it out (every task), or drop the ladder")
        triples = [(m, o, t) for m in self.models for o in self.objectives for t in self.tasks]
        if all(self.excluded(*triple) for triple in triples):
            raise ValueError(f"exclude: {self.exclude} leaves no (model, objective, task) to run")
        for name in self.models:
            entry = registry.models.get(name)
            for size in self.sizes:
                entry.preset(size)  # raises on an unknown size
            for key, length in (("pretrain.seq_len", self.pretrain.seq_len),
                                ("finetune.max_length", self.finetune.max_length)):
                if length > entry.max_positions:
                    raise ValueError(f"{key}: {length} is longer than model {name}'s {entry.max_positions} positions")
        for field, reg, listed in (
            ("objective_params", registry.objectives, self.objectives),
            ("task_params", registry.tasks, self.tasks),
        ):
            settings, variants = getattr(self, field), own_variants[field.split("_")[0] + "s"]
            for name in settings:
                if name not in listed or name in variants:
                    raise ValueError(f"{field}.{name}: not among the suite's registered {field.split('_')[0]}s")
            for name in listed:  # every listed entry, so a required setting that is missing is caught too
                if name in variants:
                    continue
                try:
                    reg.get(name).Params(**settings.get(name, {}))
                except ValidationError as err:
                    raise ValueError(f"{field}.{name}.{_first_error(err)}") from None
        lacking = {(m, o) for m in self.models for o in self.objectives
                   if self.objective_kind(o) not in registry.models.get(m).kinds}
        if all(self.excluded(*triple) or triple[:2] in lacking for triple in triples):
            raise ValueError("no model can be built as its objectives need: " + "; ".join(
                f"objective {o} needs a {self.objective_kind(o)} and model {m} cannot be one" for m, o in sorted(lacking)))
        return self

    def objective_kind(self, name: str) -> str:
        """The model kind objective (or variant) ``name`` pretrains, with this suite's settings (a kind set by a
        setting, as the control's, is read from it)."""
        kind = self.objective_entry(name).kind
        return str(kind) if isinstance(kind, str) else str(self.objective_settings(name).kind)

    def objective_entry(self, name: str):
        """The registered objective class behind ``name`` (a variant's base objective)."""
        return registry.objectives.get(self.variants[name]["objective"] if name in self.variants else name)

    def objective_settings(self, name: str) -> BaseModel:
        """The objective's validated hyperparameters (its defaults plus this suite's values)."""
        if name in self.variants:
            settings = {k: v for k, v in self.variants[name].items() if k != "objective"}
        else:
            settings = self.objective_params.get(name, {})
        return self.objective_entry(name).Params(**settings)

    def build_objective(self, name: str, setup):
        """An instance of objective (or variant) ``name`` with this suite's settings."""
        return self.objective_entry(name)(self.objective_settings(name), setup)

    def baseline_settings(self, name: str) -> BaseModel:
        """A baseline's validated settings (its defaults plus this suite's values)."""
        return registry.baselines.get(name).Params(**self.baseline_params.get(name, {}))

    def task_entry(self, name: str):
        """The registered task class behind ``name`` (a task variant's base task)."""
        return registry.tasks.get(self.task_variants[name]["task"] if name in self.task_variants else name)

    def task_settings(self, name: str) -> BaseModel:
        """The task's validated settings (its defaults plus this suite's values, or the variant's)."""
        if name in self.task_variants:
            settings = {k: v for k, v in self.task_variants[name].items() if k != "task"}
        else:
            settings = self.task_params.get(name, {})
        return self.task_entry(name).Params(**settings)

    def build_task(self, name: str):
        """An instance of task (or task variant) ``name`` with this suite's settings."""
        return self.task_entry(name)(self.task_settings(name))

    def excluded(self, model: str, objective: str, task: str) -> bool:
        key = f"{model}/{objective}/{task}"
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.exclude)


def _check_variants(variants: dict[str, dict[str, Scalar]], field: str, base_key: str, reg) -> None:
    """Named settings of registered entries: a new name, a registered base, settings its Params accept."""
    for name, settings in variants.items():
        if name in reg:
            raise ValueError(f"{field}.{name}: the name of a registered {base_key}; pick another")
        base = settings.get(base_key)
        if not isinstance(base, str) or base not in reg:
            raise ValueError(f"{field}.{name}.{base_key}: " + reg.unknown_message(str(base)))
        try:
            reg.get(base).Params(**{k: v for k, v in settings.items() if k != base_key})
        except ValidationError as err:
            raise ValueError(f"{field}.{name}.{_first_error(err)}") from None


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"])
    msg = e["msg"]
    msg = msg.removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        msg = "unknown key"
    got = e.get("input")
    shown = "" if e["type"] in ("extra_forbidden", "value_error", "missing") or isinstance(got, dict) else f" (got {got!r})"
    return f"{where}: {msg}{shown}" if where else f"{msg}{shown}"


def parse_override(text: str) -> tuple[list[str], Any]:
    """``pretrain.lr=3e-4`` -> (["pretrain", "lr"], 0.0003). Values are parsed as YAML scalars."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ObjbenchError(f"override {text!r}: expected KEY=VALUE, e.g. pretrain.lr=3e-4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Set dotted keys on the raw suite mapping; validation happens afterwards, on the whole."""
    raw = yaml.safe_load(yaml.safe_dump(raw))  # deep copy of plain data
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ObjbenchError(f"override {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return raw


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key that a mapping repeats (plain YAML keeps the last silently)."""


def _mapping_without_repeats(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, f"a key must be a name, not {type(key).__name__}",
                                                    key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def load_suite(path: str | Path, overrides: list[str] | None = None) -> Suite:
    """Read, override and validate a suite file; every problem names the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ObjbenchError(f"{path}: no such suite file")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as err:
        raise ObjbenchError(f"{path}: not a text suite file (byte {err.start} is not UTF-8)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ObjbenchError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ObjbenchError(f"{path}: a suite file must be a mapping of keys to settings")
    raw.setdefault("name", path.stem)
    raw = apply_overrides(raw, overrides or [])
    return validate_suite(raw, source=str(path))


def validate_suite(raw: dict, source: str = "<suite>") -> Suite:
    try:
        return Suite(**raw)
    except ValidationError as err:
        raise ObjbenchError(f"{source}: {_first_error(err)}") from None
