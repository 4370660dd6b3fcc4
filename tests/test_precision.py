"""fp32 and bf16 autocast: how the precision is resolved, and a training step, a finetune and an
evaluation in each, on whichever CPU the tests run.

fp32 always runs. bf16 runs where ``benchmark.measure.bf16_supported`` says this CPU computes it
natively (AVX512-BF16 or AMX) and is skipped, saying why, elsewhere (``-ra`` prints the reason).
Both are forced as the harness forces them, through ``resolve_precision`` and ``autocast``, and
each test checks that the precision it asked for is the one the matrix multiplications ran in.
"""

from __future__ import annotations

import math

import pytest
import torch

import benchmark.measure
from benchmark import registry
from benchmark.config import validate_suite
from benchmark.errors import ObjbenchError
from benchmark.measure import autocast, bf16_supported, resolve_precision

from tests.helpers import first_blocks, make, tiny_raw

CPU = torch.device("cpu")
DTYPE = {"fp32": torch.float32, "bf16": torch.bfloat16}
# One objective per model family and attention: causal decoder, bidirectional encoder, T5 encoder-decoder.
OBJECTIVES = ["clm", "mlm", "span_corruption"]
NO_BF16 = ("bf16 autocast not tested: this CPU has neither AVX512-BF16 nor AMX, so "
           "benchmark.measure.bf16_supported(cpu) is False and precision=bf16 is refused (fp32 still ran)")


# --- resolving the precision -----------------------------------------------------------------------

def test_auto_agrees_with_bf16_supported_on_this_machine():
    assert resolve_precision("auto", CPU) == ("bf16" if bf16_supported(CPU) else "fp32")
    assert resolve_precision("fp32", CPU) == "fp32"


@pytest.mark.parametrize("supported", [True, False], ids=["bf16-cpu", "no-bf16-cpu"])
def test_resolve_precision_follows_bf16_supported(monkeypatch, supported):
    """Both branches on any machine: ``resolve_precision`` asks ``bf16_supported``, so patching it decides."""
    monkeypatch.setattr(benchmark.measure, "bf16_supported", lambda device: supported)
    assert resolve_precision("auto", CPU) == ("bf16" if supported else "fp32")
    assert resolve_precision("fp32", CPU) == "fp32"  # fp32 is always there
    if supported:
        assert resolve_precision("bf16", CPU) == "bf16"
    else:
        with pytest.raises(ObjbenchError, match="bf16"):  # asked for explicitly: an error, not a quiet fp32
            resolve_precision("bf16", CPU)


# --- training, finetuning and evaluating in each precision ---------------------------------------

@pytest.fixture(params=["fp32", "bf16"])
def precision(request) -> str:
    """The precision forced as the harness would force it (``precision: bf16`` in a suite), or a skip."""
    if request.param == "bf16" and not bf16_supported(CPU):
        pytest.skip(NO_BF16)
    return resolve_precision(request.param, CPU)


class MatmulDtypes:
    """Records the output dtype of every ``nn.Linear`` call in ``module``: what autocast really ran in."""

    def __init__(self, module: torch.nn.Module):
        self.seen: set[torch.dtype] = set()
        self.handles = [m.register_forward_hook(self._hook) for m in module.modules()
                        if isinstance(m, torch.nn.Linear)]
        assert self.handles, f"{type(module).__name__} has no nn.Linear to watch"

    def _hook(self, module, inputs, output) -> None:
        self.seen.add(output.dtype)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}


def assert_all_moved_and_fp32(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    """Every trained weight changed, is finite, and stayed fp32 (autocast keeps the master weights fp32)."""
    after = dict(module.named_parameters())
    unmoved = [name for name, old in before.items() if torch.equal(after[name].detach(), old)]
    assert not unmoved, f"weights that did not move: {unmoved[:5]}"
    assert all(after[name].dtype == torch.float32 for name in before)
    assert all(torch.isfinite(after[name]).all() for name in before)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_pretraining_step(tiny_data, tiny_setup, name, precision):
    """One step as ``Pretraining.train_step`` takes it: autocast forward, fp32 backward, clip, AdamW."""
    objective = make(name, tiny_setup)
    torch.manual_seed(0)
    network = objective.build().to(CPU).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    batch = objective.prepare(first_blocks(tiny_data, 8), torch.Generator().manual_seed(0))
    before, dtypes = snapshot(network), MatmulDtypes(network)

    with autocast(CPU, precision):
        out = objective.loss(network, batch)
    dtypes.remove()
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
    optimizer.step()

    assert dtypes.seen == {DTYPE[precision]}, f"{precision} asked for, matmuls ran in {dtypes.seen}"
    assert out.loss.dtype == torch.float32 and math.isfinite(out.loss.item()) and out.loss.item() > 0
    assert out.loss_bearing_tokens > 0
    assert_all_moved_and_fp32(network, before)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_bf16_loss_is_close_to_fp32(tiny_data, tiny_setup, name):
    """The same weights and batch give nearly the same loss under bf16 autocast: nothing is cast wrongly."""
    if not bf16_supported(CPU):
        pytest.skip(NO_BF16)
    objective = make(name, tiny_setup)
    torch.manual_seed(0)
    network = objective.build().eval()
    batch = objective.prepare(first_blocks(tiny_data, 8), torch.Generator().manual_seed(0))
    with torch.no_grad():
        fp32 = objective.loss(network, batch).loss.item()
        with autocast(CPU, resolve_precision("bf16", CPU)):
            bf16 = objective.loss(network, batch).loss.item()
    assert bf16 == pytest.approx(fp32, rel=0.02)  # bf16 keeps ~3 significant digits per operation


@pytest.fixture(scope="module")
def topic(tmp_path_factory):
    """The tiny suite's classification task (synthetic_topic, 32 train and 32 test texts) and its recipe."""
    suite = validate_suite(tiny_raw(tmp_path_factory.mktemp("topic")))
    task = registry.tasks.get("synthetic_topic")(suite.task_settings("synthetic_topic"))
    return task.load(suite.corpus), suite.finetune


def test_finetune_and_evaluate(tiny_setup, topic, precision):
    """A randomly initialised causal classifier (the control's path), finetuned one epoch and scored."""
    from benchmark.models.kinds import ModelKind

    splits, recipe = topic
    fmt = registry.formats.get("classification")()
    torch.manual_seed(0)
    model = fmt.build(tiny_setup.model, None, tiny_setup, splits["train"], ModelKind.CAUSAL)
    before, dtypes = snapshot(model), MatmulDtypes(model)

    stats = fmt.finetune(model, splits["train"], tiny_setup.tokenizer, recipe, ModelKind.CAUSAL, 0, CPU, precision)
    assert dtypes.seen == {DTYPE[precision]}, f"finetuning in {precision} ran matmuls in {dtypes.seen}"
    assert stats["steps"] == -(-len(splits["train"]) // recipe.batch_size) * recipe.epochs
    assert_all_moved_and_fp32(model, before)

    dtypes.seen.clear()
    metrics, eval_stats = fmt.evaluate(model, splits["test"], tiny_setup.tokenizer, recipe, ModelKind.CAUSAL, CPU,
                                       precision)
    dtypes.remove()
    assert dtypes.seen == {DTYPE[precision]}, f"evaluating in {precision} ran matmuls in {dtypes.seen}"
    assert eval_stats["examples"] == len(splits["test"])
    assert set(metrics) >= {fmt.primary_metric.name, "accuracy", fmt.companion_metric.name}
    assert -math.inf < metrics.pop(fmt.companion_metric.name) <= 0.0  # a log-probability, reduced in float32
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
