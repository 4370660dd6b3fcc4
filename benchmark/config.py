"""Suite files -> typed, validated config.

A suite is flat YAML: names plus scalar settings. It loads into the pydantic models below
(unknown keys are errors), entry names are checked against the registries, and each
objective's and task's own settings are validated against that entry's ``Params`` model.
Every default lives in a field declaration, with the reason for it beside it.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from benchmark import registry
from benchmark.corpus_config import CorpusConfig, Strict
from benchmark.errors import ObjbenchError
from benchmark.paths import check_folder, check_name

Scalar = bool | int | float | str
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # what torch.manual_seed and the block order accept


class TokenizerConfig(Strict):
    algorithm: Literal["bpe", "wordpiece"] = "bpe"
    vocab_size: int = Field(2048, ge=256)  # subwords matter: the synthetic lexicon is larger than this


# The largest budget per unit that a suite may ask for without ``allow_large_budget``: far past
# what any preset trains in a week, so a typo (1e30) is caught rather than planned.
BUDGET_LIMITS = {"steps": 1e7, "tokens": 1e12, "flops": 1e21, "seconds": 30 * 24 * 3600.0}


def _unique_seeds(seeds: list[int]) -> list[int]:
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"seed {', '.join(map(str, repeated))} listed twice: every seed is one more run, once")
    return seeds


class PretrainConfig(Strict):
    # Budgets in steps, tokens or FLOPs are converted to optimizer steps per (model, objective)
    # before anything runs; a budget in seconds stops each run by the clock.
    # FLOPs by default: compute-matched comparisons (T5 sec. 3.2, ELECTRA count every network trained).
    budget_unit: Literal["tokens", "steps", "flops", "seconds"] = "flops"
    budget: float = Field(2e12, gt=0)  # ~400k tokens of CLM on the tiny preset
    allow_large_budget: bool = False  # budgets past BUDGET_LIMITS are refused unless this says they are meant
    seq_len: int = Field(128, ge=8)  # packed block length
    batch_size: int = Field(32, ge=1)
    lr: float = Field(2e-3, gt=0)  # high, as small models tolerate (cramming-style short schedules)
    warmup_steps: int = Field(10, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    # Pretraining seeds: two at least, for the report's intervals are over pretraining runs (one
    # run makes every verdict provisional); another seed, like another machine, changes the weights.
    seeds: list[Seed] = Field(default_factory=lambda: [0, 1], min_length=1)
    resume_every_steps: int = Field(100, ge=0)  # save a resume state this often (0: never); killed runs continue
    # A compute ladder: fractions of the budget at which a finished checkpoint is made too, each
    # finetuned and evaluated like any checkpoint, for curves of score against compute. With a
    # ladder the schedule is warmup-stable-decay (WSD; MiniCPM, Hu et al. 2024): the main run holds
    # its learning rate and decays it linearly over its last `decay_fraction` of steps; the rung at
    # fraction r branches off the stable phase and decays over its own last `decay_fraction` (the
    # cooldowns of Hagele et al. 2024), so that it costs r of the budget, then the main run goes on
    # from before the branch as if it had never branched. The branches' FLOPs are counted.
    ladder: list[Annotated[float, Field(gt=0, le=1)]] | None = None  # e.g. [0.25, 0.5, 1.0]; ends at 1.0
    decay_fraction: float = Field(0.15, gt=0, lt=1)  # with a ladder: each rung's share of steps spent decaying
    ladder_tasks: list[str] | None = None  # tasks finetuned on the rungs below 1.0 (None: every task)
    # torch.compile the network for pretraining: pays off on a GPU at the small and base presets
    # (its compile time is counted in the wall time, not in the steady-state tokens/s).
    compile: bool = False

    @field_validator("seeds")
    @classmethod
    def _seeds_once(cls, seeds: list[int]) -> list[int]:
        return _unique_seeds(seeds)

    @field_validator("ladder")
    @classmethod
    def _ladder_climbs_to_the_budget(cls, ladder: list[float] | None) -> list[float] | None:
        if ladder is None:
            return None
        if ladder != sorted(set(ladder)):
            raise ValueError(f"{ladder}: fractions must rise, each once")
        if ladder[-1] != 1.0:
            raise ValueError(f"{ladder}: the last rung is the whole budget, 1.0")
        return ladder

    @field_validator("budget", mode="before")
    @classmethod
    def _budget_is_a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, not {value}")
        return value

    @model_validator(mode="after")
    def _budget_makes_steps(self) -> PretrainConfig:
        limit = BUDGET_LIMITS[self.budget_unit]
        if self.budget > limit and not self.allow_large_budget:
            raise ValueError(f"budget: {self.budget:g} {self.budget_unit} is past {limit:g}; "
                             f"set pretrain.allow_large_budget=true if it is meant")
        if self.budget_unit == "steps" and self.budget != int(self.budget):
            raise ValueError(f"budget: {self.budget:g} steps is not a whole number of steps")
        if self.budget_unit == "steps" and self.budget < 1:
            raise ValueError(f"budget: {self.budget:g} steps is less than one step")
        if self.ladder is not None and self.budget_unit == "seconds":
            raise ValueError("ladder: needs a budget in steps, tokens or FLOPs (a clock budget has no known steps)")
        if self.budget_unit == "tokens" and self.budget < self.tokens_per_step:
            raise ValueError(f"budget: {self.budget:g} tokens is less than one step "
                             f"({self.tokens_per_step} tokens = batch_size x seq_len)")
        return self

    @property
    def tokens_per_step(self) -> int:
        """Block tokens taken from the stream by one optimizer step, whatever the objective feeds the network."""
        return self.batch_size * self.seq_len


class FinetuneConfig(Strict):
    # One recipe shared by every objective (T5 sec. 3.3; cramming's global hyperparameters).
    epochs: int = Field(4, ge=1)
    batch_size: int = Field(16, ge=1)  # cramming: 16
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    max_length: int = Field(64, ge=4)  # downstream examples are truncated to this many tokens
    seeds: list[Seed] = Field(default_factory=lambda: [0, 1, 2], min_length=1)  # finetuning seeds
    # full: every weight trains (the usual finetuning). linear_probe: the pretrained network is
    # frozen and only the task head trains, which shows what pretraining stored without
    # finetuning's confounds (it can rebuild features that pretraining never learnt).
    mode: Literal["full", "linear_probe"] = "full"

    @field_validator("seeds")
    @classmethod
    def _seeds_once(cls, seeds: list[int]) -> list[int]:
        return _unique_seeds(seeds)


class CheckConfig(Strict):
    """What ``objbench compare`` and ``objbench check`` call a regression (see benchmark/report/gate.py)."""

    # Per task: the drop in its primary metric that matters, in the metric's own units (default:
    # 2% of the metric's best value, e.g. 0.02 F1 or 2 chrF). A drop counts only when it also lies
    # beyond its interval over pretraining seeds.
    tolerance: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    # Pretraining speed: a fall in MFU (model FLOP/s over the device's peak) by more than this share.
    mfu_drop: float = Field(0.35, gt=0, lt=1)


class ExecutorConfig(Strict):
    """Where the runs go. Not part of any run's identity: every executor records the same runs."""

    # local: this process (workers 1) or `workers` processes on this machine; ray: a Ray cluster
    # (RAY_ADDRESS, or a local one); slurm: Slurm job arrays through submitit.
    kind: Literal["local", "ray", "slurm"] = "local"
    workers: int = Field(1, ge=1)  # local: processes, one GPU or an equal share of the cores each
    cpus_per_job: int = Field(1, ge=1)  # ray and slurm: CPUs per unit of work (its torch threads)
    gpus_per_job: int = Field(0, ge=0)  # ray and slurm: GPUs per unit of work (1 for a GPU suite)
    address: str | None = None  # ray: the cluster to join (default: RAY_ADDRESS, else start a local one)
    partition: str | None = None  # slurm: the partition (default: the cluster's)
    time_limit_min: int = Field(60, ge=1)  # slurm: per unit of work; a pretraining job is the longest
    array_parallelism: int = Field(64, ge=1)  # slurm: array tasks running at once
    sbatch: dict[str, str] = Field(default_factory=dict)  # slurm: extra #SBATCH flags, e.g. {account: nlp}
    cluster: Literal["slurm", "local"] | None = None  # slurm: submitit's backend; local runs arrays here

    @model_validator(mode="after")
    def _settings_of_its_kind(self) -> ExecutorConfig:
        defaults = ExecutorConfig.model_construct()  # a full dump (a replica of a suite) sets every key
        given = {k for k in self.model_fields_set if getattr(self, k) != getattr(defaults, k)}
        own = {"local": {"workers"}, "ray": {"address", "cpus_per_job", "gpus_per_job"},
               "slurm": {"partition", "time_limit_min", "array_parallelism", "sbatch", "cluster", "cpus_per_job",
                         "gpus_per_job"}}
        stray = sorted(given - own[self.kind] - {"kind"})
        if stray:
            raise ValueError(f"{', '.join(stray)}: not a setting of the {self.kind} executor")
        return self


class Suite(Strict):
    """One comparison: the product of models x objectives x tasks, minus ``exclude``."""

    name: str
    models: list[str] = Field(min_length=1)
    size: str = "tiny"  # model preset, looked up on each model entry
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
    baseline_params: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    check: CheckConfig = Field(default_factory=CheckConfig)  # regression gate: tolerances per task and for speed
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)  # where runs go: local, ray or slurm
    results_dir: str = "results"  # run records and caches
    reports_dir: str = "reports"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        return check_name(name)  # it names the suite's folders under results_dir and reports_dir

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

    @field_validator("models", "objectives", "tasks", "baselines")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"listed twice: {', '.join(dupes)}")
        return names

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
        for name in self.pretrain.ladder_tasks or []:  # a known task the suite does not run is left out, not refused
            if name not in registry.tasks and name not in self.task_variants:
                raise ValueError(f"pretrain.ladder_tasks: {registry.tasks.unknown_message(name)}")
        triples = [(m, o, t) for m in self.models for o in self.objectives for t in self.tasks]
        if all(self.excluded(*triple) for triple in triples):
            raise ValueError(f"exclude: {self.exclude} leaves no (model, objective, task) to run")
        for name in self.models:
            entry = registry.models.get(name)
            entry.preset(self.size)  # raises on an unknown size
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
        return self

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
