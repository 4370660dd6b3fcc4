"""BERT masking statistics and CLM label alignment: the behaviour each objective promises."""

import torch

from benchmark import registry
from benchmark.objectives.base import IGNORE, special_token_mask
from benchmark.objectives.mlm import MLMParams, bert_masking


def _blocks(tiny_data, rows=256):
    ids = tiny_data.blocks.input_ids
    return ids.repeat((rows + len(ids) - 1) // len(ids), 1)[:rows]


def test_mlm_selects_15_percent_with_80_10_10(tiny_data, tiny_setup, generator):
    original = _blocks(tiny_data)
    corrupted, labels = bert_masking(original, tiny_setup, MLMParams(), generator)
    eligible = ~special_token_mask(original, tiny_setup.special_ids)
    selected = labels != IGNORE
    n = int(selected.sum())
    assert n > 500
    assert abs(n / int(eligible.sum()) - 0.15) < 0.01
    as_mask = (corrupted == tiny_setup.tokenizer.mask_token_id) & selected
    changed = (corrupted != original) & selected & ~as_mask
    kept = (corrupted == original) & selected
    assert abs(int(as_mask.sum()) / n - 0.8) < 0.03
    assert abs(int(changed.sum()) / n - 0.1) < 0.03
    assert abs(int(kept.sum()) / n - 0.1) < 0.03
    # labels hold the original token exactly where a token was selected
    assert torch.equal(labels[selected], original[selected])
    # nothing outside the selection changed
    assert torch.equal(corrupted[~selected], original[~selected])


def test_mlm_never_selects_special_or_padding_tokens(tiny_data, tiny_setup, generator):
    original = _blocks(tiny_data).clone()
    original[:, -5:] = tiny_setup.tokenizer.pad_token_id  # padding at the end of every row
    params = MLMParams(mask_rate=0.9)  # high rate: any leak would show
    corrupted, labels = bert_masking(original, tiny_setup, params, generator)
    special = special_token_mask(original, tiny_setup.special_ids)
    assert special.sum() > 0
    assert (labels[special] == IGNORE).all()
    assert torch.equal(corrupted[special], original[special])


def test_mlm_random_replacements_are_ordinary_tokens(tiny_data, tiny_setup, generator):
    original = _blocks(tiny_data)
    corrupted, labels = bert_masking(original, tiny_setup, MLMParams(mask_token_rate=0.0, random_token_rate=1.0),
                                     generator)
    replaced = (labels != IGNORE)
    assert not special_token_mask(corrupted[replaced], tiny_setup.special_ids).any()


def test_clm_labels_are_the_next_token(tiny_data, tiny_setup, generator):
    clm = registry.objectives.get("clm")(registry.objectives.get("clm").Params(), tiny_setup)
    blocks = tiny_data.blocks.select(torch.arange(4)).to_dict()
    batch = clm.prepare(blocks, generator)
    ids = blocks["input_ids"]
    assert torch.equal(batch["input_ids"], ids)
    assert torch.equal(batch["labels"][:, :-1], ids[:, 1:])
    assert (batch["labels"][:, -1] == IGNORE).all()


def test_clm_loss_matches_the_shifted_causal_lm_loss(tiny_data, tiny_setup, generator):
    """Our loss equals Hugging Face's own causal-LM loss, which shifts labels internally."""
    torch.manual_seed(0)
    clm = registry.objectives.get("clm")(registry.objectives.get("clm").Params(), tiny_setup)
    network = clm.build().eval()
    blocks = tiny_data.blocks.select(torch.arange(2)).to_dict()
    batch = clm.prepare(blocks, generator)
    ours = clm.loss(network, batch).loss
    theirs = network(input_ids=blocks["input_ids"], labels=blocks["input_ids"]).loss
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_clm_cannot_see_the_future_and_mlm_can(tiny_data, tiny_setup):
    from benchmark.objectives.base import hidden_states
    from benchmark.models.kinds import ModelKind

    torch.manual_seed(0)
    network = tiny_setup.model.build_lm(ModelKind.CAUSAL, "tiny", tiny_setup.tokenizer).eval()
    ids = tiny_data.blocks.input_ids[:1].clone()
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % len(tiny_setup.tokenizer)
    with torch.no_grad():
        causal = [hidden_states(network, x, ModelKind.CAUSAL)[0, 0] for x in (ids, changed)]
        bidirectional = [hidden_states(network, x, ModelKind.ENCODER)[0, 0] for x in (ids, changed)]
    assert torch.allclose(causal[0], causal[1], atol=1e-6)
    assert not torch.allclose(bidirectional[0], bidirectional[1], atol=1e-6)
