"""What the three objectives from the recent literature promise beyond the shared contract.

mtp with one head is clm; the masked diffusion ELBO its zero-shot score estimates is checked
against its exact value, summed over every set of masked positions of a short sentence, and
its training loss against the same bound; GPT-BERT's zero-shot run records both of its readings.
"""

from __future__ import annotations

import math
from itertools import combinations

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset

from benchmark import registry
from benchmark.config import FinetuneConfig
from benchmark.formats import zero_shot
from benchmark.models.kinds import ModelKind, attention_mask
from tests.helpers import first_blocks, make

CPU = torch.device("cpu")
SENTENCE = "a kat is big ."


def built(name, setup, seed=0, **params):
    objective = make(name, setup, **params)
    torch.manual_seed(seed)
    return objective, objective.build().eval()


def test_mtp_with_one_head_is_clm_on_the_same_batch(tiny_setup, tiny_data):
    blocks = first_blocks(tiny_data, 8)
    clm, clm_network = built("clm", tiny_setup)
    mtp, mtp_network = built("mtp", tiny_setup, n_tokens=1)
    assert len(mtp_network.heads) == 0
    ours = mtp.loss(mtp_network, mtp.prepare(blocks, torch.Generator().manual_seed(0)))
    theirs = clm.loss(clm_network, clm.prepare(blocks, torch.Generator().manual_seed(0)))
    assert ours.loss.item() == theirs.loss.item()
    assert ours.loss_bearing_tokens == theirs.loss_bearing_tokens
    batch = mtp.prepare(blocks, torch.Generator().manual_seed(0))
    assert mtp.flops(mtp_network, batch) == clm.flops(clm_network, clm.prepare(blocks, torch.Generator()))


def test_mtp_sums_one_loss_per_head_and_keeps_the_next_token_head_for_finetuning(tiny_setup, tiny_data):
    mtp, network = built("mtp", tiny_setup)  # the default: 4 tokens, as the paper
    batch = mtp.prepare(first_blocks(tiny_data, 4), torch.Generator().manual_seed(0))
    out = mtp.loss(network, batch)
    assert len(out.terms) == 4 and out.loss.item() == pytest.approx(sum(t.item() for t in out.terms), rel=1e-6)
    assert mtp.backbone(network) is network.lm  # the future heads are not part of the saved model
    seq = batch["input_ids"].shape[1]
    assert out.loss_bearing_tokens == 4 * sum(seq - k for k in range(1, 5))


def _masked(model, ids: list[int], positions: tuple[int, ...], mask_id: int) -> float:
    """sum over ``positions`` of log p(original | the sentence with them all masked), bidirectional."""
    inputs = torch.tensor([[mask_id if i in positions else t for i, t in enumerate(ids)]])
    with torch.no_grad():
        hidden = model.base_model(input_ids=inputs, attention_mask=attention_mask(
            ModelKind.ENCODER, torch.ones_like(inputs))).last_hidden_state[0]
        logp = F.log_softmax(model.lm_head(hidden).double(), -1)
    return sum(float(logp[p, ids[p]]) for p in positions)


def exact_elbo(model, ids: list[int], mask_id: int) -> tuple[float, float]:
    """The ELBO over every masking of positions 1..n, and the variance of one sample of its estimator.

    A sample masks l positions, l uniform in 1..n, then a uniform set of l: P(S) = 1 / (n C(n, l)),
    and its value is (n / l) x the masked log-probabilities. The continuous-time bound
    E_t[(1/t) sum over masked] weighs S by B(l, n - l + 1) = 1 / (l C(n, l)), the same.
    """
    n = len(ids) - 1
    mean = second = 0.0
    for size in range(1, n + 1):
        for subset in combinations(range(1, n + 1), size):
            value = n / size * _masked(model, ids, subset, mask_id)
            probability = 1 / (n * math.comb(n, size))
            mean += probability * value
            second += probability * value ** 2
    return mean, second - mean ** 2


def test_the_masked_diffusion_elbo_matches_its_exact_value_over_every_masking(tiny_setup):
    tok = tiny_setup.tokenizer
    _, model = built("masked_diffusion", tiny_setup)
    ids = [tok.eos_token_id, *tok(SENTENCE, add_special_tokens=False)["input_ids"]][:6]
    exact, variance = exact_elbo(model, ids, tok.mask_token_id)
    samples = 4000
    estimate = zero_shot.elbo(model, [ids], tok.pad_token_id, tok.mask_token_id, samples, [0], 256, CPU, "fp32")
    standard_error = math.sqrt(variance / samples)
    assert abs(estimate.item() - exact) < 4 * standard_error, (estimate.item(), exact, standard_error)
    # the same seed draws the same masks: a rerun scores the same
    again = zero_shot.elbo(model, [ids], tok.pad_token_id, tok.mask_token_id, samples, [0], 97, CPU, "fp32")
    assert again.item() == pytest.approx(estimate.item(), abs=1e-4)
    # and the bound is below the best any token can do: every log-probability is negative
    assert exact < 0


def test_the_masked_diffusion_training_loss_estimates_the_same_bound(tiny_setup):
    """The pretraining loss on one row is, in expectation over its draws, minus the ELBO per ordinary token."""
    tok = tiny_setup.tokenizer
    objective, model = built("masked_diffusion", tiny_setup, min_mask_rate=1e-6)
    ids = [tok.eos_token_id, *tok(SENTENCE, add_special_tokens=False)["input_ids"]][:6]
    exact, _ = exact_elbo(model, ids, tok.mask_token_id)
    blocks = {"input_ids": torch.tensor([ids] * 512)}
    losses = []
    with torch.no_grad():
        for seed in range(8):
            batch = objective.prepare(blocks, torch.Generator().manual_seed(seed))
            for row in range(512):
                one = {k: v[row:row + 1] for k, v in batch.items()}
                losses.append(objective.loss(model, one).loss.item())
    values = torch.tensor(losses, dtype=torch.float64)
    n = len(ids) - 1
    standard_error = float(values.std()) / math.sqrt(len(values))
    assert abs(float(values.mean()) - (-exact / n)) < 4 * standard_error, (float(values.mean()), -exact / n)


def _pairs():
    return Dataset.from_dict({"good": ["a kat is big .", "many birdim see the kat ."],
                              "bad": ["a kat are big .", "many birdim sees the kat ."]})


@pytest.mark.parametrize(("name", "forms"), [("masked_diffusion", ["elbo"]),
                                             ("gpt_bert", ["log_likelihood", "masked_next"]),
                                             ("mtp", ["log_likelihood"])])
def test_zero_shot_scores_each_objective_by_its_own_likelihood_after_a_save(name, forms, tiny_setup, tmp_path):
    objective, network = built(name, tiny_setup)
    objective.backbone(network).save_pretrained(tmp_path)
    fmt = registry.formats.get("zero_shot")()
    model = fmt.build(tiny_setup.model, tmp_path, tiny_setup, None, objective.kind)
    metrics, stats = fmt.evaluate(model, _pairs(), tiny_setup.tokenizer, FinetuneConfig(seeds=[0]), objective.kind,
                                  CPU, "fp32")
    assert stats["scoring"]["forms"] == forms
    if name == "masked_diffusion":
        assert stats["scoring"]["elbo_samples"] == objective.params.elbo_samples
    for form in forms[1:]:
        assert {f"{form}_accuracy", f"{form}_logprob_margin"} <= metrics.keys()
    assert 0 <= metrics["accuracy"] <= 1


def test_masked_next_reads_each_masked_token_one_position_early(tiny_setup):
    tok = tiny_setup.tokenizer
    _, model = built("gpt_bert", tiny_setup)
    ids = [tok.eos_token_id, *tok(SENTENCE, add_special_tokens=False)["input_ids"]]
    [score] = zero_shot.sentence_scores(model, [SENTENCE], tok, ModelKind.PREFIX, 8, CPU, form="masked_next")
    slow = 0.0
    for t in range(1, len(ids)):
        inputs = torch.tensor([ids[:t] + [tok.mask_token_id] + ids[t + 1:]])
        everything = torch.ones(1, 1, len(ids), len(ids), dtype=torch.bool)
        with torch.no_grad():
            logits = model(input_ids=inputs, attention_mask=everything).logits[0, t - 1]
        slow += F.log_softmax(logits, -1)[ids[t]].item()
    assert score.item() == pytest.approx(slow, abs=1e-4)


def test_gpt_bert_rows_are_causal_or_masked_and_the_ratio_is_a_setting(tiny_setup, tiny_data):
    blocks = first_blocks(tiny_data, 8)
    for fraction, expected in ((1.0, 1), (0.0, blocks["input_ids"].shape[1])):
        objective = make("gpt_bert", tiny_setup, causal_fraction=fraction)
        batch = objective.prepare(blocks, torch.Generator().manual_seed(0))
        assert (batch["prefix_lengths"] == expected).all()
    causal = make("gpt_bert", tiny_setup, causal_fraction=1.0).prepare(blocks, torch.Generator().manual_seed(0))
    clm = make("clm", tiny_setup).prepare(blocks, torch.Generator().manual_seed(0))
    assert torch.equal(causal["labels"], clm["labels"]) and torch.equal(causal["input_ids"], clm["input_ids"])
