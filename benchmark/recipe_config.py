"""The sections of a suite that configure its training recipe and where it runs: tokenizer, pretraining,
finetuning, the CI check and the executor. Typed and validated; every default beside its reason."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from benchmark.corpus_config import Strict

Seed = Annotated[int, Field(ge=0, lt=2**32)]  # what torch.manual_seed and the block order accept


class TokenizerConfig(Strict):
    # byte_bpe: byte-level BPE (GPT-2's), lossless and cased: any text decodes back to itself.
    # bpe, wordpiece: the normalising tokenizers of earlier records (lower case, no accents kept).
    algorithm: Literal["byte_bpe", "bpe", "wordpiece"] = "byte_bpe"
    vocab_size: int = Field(2048, ge=256)  # subwords matter: the synthetic lexicon is larger than this
    # An existing tokenizer instead of one trained on the corpus: a Hub id (from the local cache) or a
    # folder written by save_pretrained. Special tokens it lacks are added after its own ids.
    pretrained: str | None = None

    @model_validator(mode="after")
    def _trained_or_existing(self) -> TokenizerConfig:
        trained = sorted({"algorithm", "vocab_size"} & self.model_fields_set)
        if self.pretrained is not None and trained:
            raise ValueError(f"{', '.join(trained)}: a setting of a trained tokenizer; tokenizer.pretrained "
                             f"{self.pretrained!r} is used as it is")
        return self


# The largest budget per unit that a suite may ask for without ``allow_large_budget``: far past
# what any preset trains in a week, so a typo (1e30) is caught rather than planned.
BUDGET_LIMITS = {"steps": 1e7, "tokens": 1e12, "flops": 1e21, "seconds": 30 * 24 * 3600.0}


def listed_once(names: list[str]) -> list[str]:
    """``names`` as given, or an error naming those listed twice (one more run each would be silent)."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"listed twice: {', '.join(dupes)}")
    return names


def _unique_seeds(seeds: list[int]) -> list[int]:
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(f"seed {', '.join(map(str, repeated))} listed twice: every seed is one more run, once")
    return seeds


class ParallelConfig(Strict):
    """One pretraining job as several cooperating processes (torch.distributed), one device each.

    Not part of the checkpoint's identity: the global batch, the budget, the schedule and the data
    order are the single process's, whatever the layout (tests/test_distributed.py checks the match).
    """

    # With more than one device: ddp, every device holds the network and gradients are averaged
    # (DistributedDataParallel); fsdp, parameters, gradients and optimizer state are sharded over the
    # devices (FSDP2, fully_shard), for networks that do not fit on one. One device: one process.
    strategy: Literal["ddp", "fsdp"] = "ddp"
    devices: int = Field(1, ge=1)  # processes per node, one device each (a GPU, or a share of the CPU cores)
    nodes: int = Field(1, ge=1)  # machines (the slurm executor); this machine alone for the local one
    # Rows of the global batch one device computes in one forward pass; its share of the batch is
    # taken in as many passes as needed, gradients accumulated (None: the whole share at once).
    micro_batch_size: int | None = Field(None, ge=1)
    # A collective that waits longer than this fails the job (a rank that died or hangs) instead of
    # hanging it; long enough for rank 0 to save a large checkpoint while the others wait.
    timeout_s: float = Field(1800.0, gt=0)

    @property
    def world_size(self) -> int:
        return self.devices * self.nodes


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
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)  # one job over several devices

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
        world, micro = self.parallel.world_size, self.parallel.micro_batch_size
        if world > self.batch_size:
            raise ValueError(f"parallel: a batch of {self.batch_size} rows cannot be split over {world} devices "
                             f"(one row each at least); raise pretrain.batch_size or lower the devices")
        share = -(-self.batch_size // world)
        if micro is not None and micro > share:
            raise ValueError(f"parallel.micro_batch_size: {micro} rows is more than a device's share of the batch "
                             f"({share} of {self.batch_size} over {world} devices)")
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


class TrackingConfig(Strict):
    """Experiment trackers that see every run as it happens (``tracking: [tensorboard, wandb]`` for short).

    Not part of any run's identity: the record keeps the same curve and metrics with or without them.
    """

    to: list[str] = Field(default_factory=list)  # registered trackers: tensorboard, mlflow, wandb, trackio
    # Local files (TensorBoard event files, the MLflow file store, W&B's offline runs): default
    # <results_dir>/<suite>/tracking. trackio keeps its own local store (TRACKIO_DIR).
    dir: str | None = None
    project: str = "objbench"  # the W&B and trackio project; each suite is one group in it (MLflow: one experiment)
    wandb_mode: Literal["offline", "online"] = "offline"  # offline: files only; `wandb sync` uploads them later
    mlflow_uri: str | None = None  # an MLflow tracking server; default: a file store under `dir`

    @model_validator(mode="before")
    @classmethod
    def _a_list_names_trackers(cls, value: Any) -> Any:
        return {"to": value} if isinstance(value, list) else value

    @field_validator("to")
    @classmethod
    def _each_once(cls, names: list[str]) -> list[str]:
        return listed_once(names)


HUB_ID = r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$"  # "gpt2", "google/electra-small-discriminator"


class PublishedConfig(Strict):
    """A checkpoint pretrained elsewhere (BERT, ELECTRA, GPT-2, T5, RoBERTa, ...), finetuned and evaluated with the
    suite's recipe, seeds and metrics beside the checkpoints the suite pretrains, and kept apart from them: it is
    its own model on the board, so it is never an untrained control's pair nor in a budget-matched verdict."""

    path: str  # a Hugging Face Hub id, or a local folder written by save_pretrained (with its tokenizer)
    objective: str  # the registered objective it was pretrained with, as the board names it (mlm, electra, clm)
    kind: Literal["causal_decoder", "prefix_decoder", "encoder", "encoder_decoder"]
    # Its pretraining compute where a paper or model card gives it, with that source; "unknown" otherwise.
    flops: float | None = Field(None, gt=0)
    tokens: float | None = Field(None, gt=0)
    source: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> PublishedConfig:
        if (self.flops is not None or self.tokens is not None) and not self.source:
            raise ValueError("source: pretraining compute needs its source (a paper or model card)")
        return self
