"""The model axis: every family with every objective its kinds allow, generated from the two registries.

A family is tested the moment it registers: each (model, objective) pair that its kinds allow
pretrains for a few steps with a falling loss, its FLOPs formula matches PyTorch's FLOP counter
within 5%, and its backbone survives ``save_pretrained``/``from_pretrained``. The presets of
every family are matched to Llama's by non-embedding parameters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import Setup
from tests.helpers import PRETRAINING, first_blocks, make
from tests.test_flops import counted_training_flops

FAMILIES = registry.models.names()


def allowed_pairs() -> list[tuple[str, str]]:
    """Every (model, objective) whose kind (with the objective's defaults) the model can be built as."""
    kinds = {name: registry.objectives.get(name).kind for name in PRETRAINING}
    assert all(isinstance(kind, ModelKind) for kind in kinds.values()), kinds
    return [(model, objective) for model in FAMILIES for objective in PRETRAINING
            if kinds[objective] in registry.models.get(model).kinds]


PAIRS = allowed_pairs()
# Llama's pairs are the contract and FLOPs tests' own (tests/test_objective_contract.py, tests/test_flops.py, 10%);
# here they run only in the full suite, at this file's 5%.
PAIRS_MARKED = [pytest.param(m, o, marks=pytest.mark.slow) if m == "llama" else (m, o) for m, o in PAIRS]


@pytest.fixture(scope="module")
def setups(tiny_data):
    return {name: Setup(tiny_data.tokenizer, registry.models.get(name), "tiny") for name in FAMILIES}


def test_four_families_or_more_are_registered():
    assert len(FAMILIES) >= 4
    assert {"llama", "gpt2", "bert", "t5"} <= set(FAMILIES)


@pytest.mark.parametrize("model", FAMILIES)
def test_every_family_serves_some_objective(model):
    assert any(m == model for m, _ in PAIRS)


@pytest.mark.parametrize(("model", "objective"), PAIRS_MARKED, ids=[f"{m}-{o}" for m, o in PAIRS])
def test_pair_pretrains_and_its_flops_match_the_counter(model, objective, setups, tiny_data, generator, tmp_path):
    setup = setups[model]
    instance = make(objective, setup)
    batch = instance.prepare(first_blocks(tiny_data, 8), generator)
    torch.manual_seed(0)
    network = instance.build().train()
    formula = instance.flops(network, batch)
    counted = counted_training_flops(instance, network, batch)
    assert formula == pytest.approx(counted, rel=0.05), f"formula {formula:.4g} vs counted {counted:.4g}"
    network.zero_grad(set_to_none=True)
    optimizer = torch.optim.AdamW([p for p in network.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for step in range(6):
        out = instance.loss(network, batch)
        assert torch.isfinite(out.loss)
        out.loss.backward()
        if step == 0:
            untrained = [n for n, p in network.named_parameters() if p.requires_grad and p.grad is None]
            assert not untrained, f"parameters outside the loss's graph: {untrained[:5]}"
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
    assert losses[-1] < 0.95 * losses[0], losses
    backbone = instance.backbone(network)
    backbone.save_pretrained(tmp_path / "ckpt")
    reloaded = type(backbone).from_pretrained(tmp_path / "ckpt")
    for (name, a), b in zip(backbone.state_dict().items(), reloaded.state_dict().values()):
        assert torch.equal(a, b), name


def non_embedding_parameters(network) -> int:
    """Parameters outside the token and absolute-position tables (the head is tied to the token table)."""
    tables = {id(p) for m in network.modules() if isinstance(m, torch.nn.Embedding) and m.num_embeddings > 64
              for p in m.parameters()}
    return sum(p.numel() for p in network.parameters() if id(p) not in tables)


@pytest.mark.parametrize("size", ["tiny", "small"])
@pytest.mark.parametrize("model", [m for m in FAMILIES if m != "llama"])
def test_presets_match_llama_in_non_embedding_parameters(model, size, tiny_data):
    """An encoder-decoder is matched per stack (T5's L+L against L), so its encoder is compared."""
    entry, llama = registry.models.get(model), registry.models.get("llama")
    kind = entry.kinds[0]
    with torch.device("meta"):
        network = entry.build_lm(kind, size, tiny_data.tokenizer)
        reference = llama.build_lm(llama.kinds[0], size, tiny_data.tokenizer)
    if hasattr(network, "get_encoder") and network.config.is_encoder_decoder:
        network = network.get_encoder()
    assert non_embedding_parameters(network) == pytest.approx(non_embedding_parameters(reference), rel=0.05)


@pytest.mark.parametrize("model", FAMILIES)
def test_an_unknown_size_names_the_known_ones(model):
    with pytest.raises(ObjbenchError, match="known: tiny, small, base"):
        registry.models.get(model).preset("huge")


@pytest.mark.parametrize("model", FAMILIES)
def test_a_kind_the_family_lacks_is_refused(model, tiny_data):
    entry = registry.models.get(model)
    lacking = [k for k in ("causal_decoder", "prefix_decoder", "encoder", "encoder_decoder")
               if k not in {str(x) for x in entry.kinds}]
    for kind in lacking:
        with pytest.raises(ObjbenchError, match="cannot be built as"):
            entry.build_lm(kind, "tiny", tiny_data.tokenizer)


def test_the_readme_table_gives_each_family_its_parameters(tiny_data):
    """The README's size table is each preset's count of non-embedding parameters, to three significant digits."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    header = next(line for line in readme.splitlines() if line.strip().startswith("| size | llama"))
    families = [cell.split()[0] for cell in header.strip().strip("|").split("|")[1:]]
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cells or cells[0] not in ("tiny", "small", "base"):
            continue
        for family, shown in zip(families, cells[1:]):
            entry = registry.models.get(family)
            with torch.device("meta"):
                network = entry.build_lm(entry.kinds[0], cells[0], tiny_data.tokenizer)
            assert float(shown.rstrip("M")) == pytest.approx(non_embedding_parameters(network) / 1e6, rel=5e-3), \
                (family, cells[0])


@pytest.mark.parametrize("model", FAMILIES)
def test_every_family_classifies_with_a_head_the_probe_can_find(model, setups, tiny_data):
    from benchmark.formats.training import classifier_head

    setup, entry = setups[model], registry.models.get(model)
    torch.manual_seed(0)
    classifier = entry.build_classifier(None, "tiny", setup.tokenizer, 3, entry.kinds[0])
    ids = first_blocks(tiny_data, 2)["input_ids"][:, :16].clone()  # the shared blocks stay as they are
    ids[:, -1] = setup.tokenizer.eos_token_id
    assert classifier(input_ids=ids).logits.shape == (2, 3)
    assert sum(p.numel() for p in classifier_head(classifier).parameters()) > 0
