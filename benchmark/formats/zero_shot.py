"""Zero-shot minimal pairs (BLiMP-style): does the pretrained model prefer the grammatical sentence?

Nothing is finetuned. Each sentence gets a score from the pretrained model as it is, and a
pair counts as right when the grammatical sentence scores higher. Every sentence is read
after an ``[EOS]``, which is how documents start in the packed pretraining stream.

- Causal decoder: log-likelihood, the sum of log p(token | tokens before it).
- Prefix decoder: the same log-likelihood with a one-token prefix (the ``[EOS]``), i.e. causal
  attention over the sentence; prefix LM pretraining draws prefixes down to one token.
- Encoder: pseudo-log-likelihood (Salazar et al. 2020, as BabyLM scores masked models): each
  token masked in turn, the sum of log p(token | all other tokens). All masked copies of all
  sentences go through the model in batches.
- Encoder-decoder: the same with T5's sentinel: each token in turn is replaced by
  ``<extra_id_0>`` and the decoder, started with ``<extra_id_0>``, scores it, which is the form
  span corruption pretrains.

A checkpoint whose objective names its own likelihood (``objbench_scores`` in its config.json)
is scored by it instead, and by every further form it names:

- ``masked_diffusion``: the ELBO of the masked diffusion model (Sahoo et al. 2024; Nie et al.
  2025, eq. 6), a lower bound on log p(sentence): for each of ``objbench_elbo_samples`` samples, a
  count l drawn uniformly from 1..n (the n tokens after the ``[EOS]``), l of the n positions drawn
  uniformly and replaced by ``[MASK]``, and (n / l) x the sum of log p(original | masked sentence)
  over them; the score is the mean over samples. The two sentences of a pair draw the same counts
  and positions (common random numbers), so their difference is not noise of the draw alone; the
  draws are seeded, so a rerun scores the same. The sample count is recorded with the run.
- ``gpt_bert``: the causal log-likelihood (primary, as above) and the masked next-token
  pseudo-log-likelihood, recorded beside it as ``masked_next_accuracy`` and
  ``masked_next_logprob_margin``: each token in turn is ``[MASK]``, attention is bidirectional, and
  its log-probability is read at the position before it, where GPT-BERT predicts it.

Scores are summed, not averaged, over tokens, as BLiMP does: the two sentences of a pair
differ in one word. Metrics: accuracy overall and, when the split has a ``phenomenon`` column,
per phenomenon as ``accuracy_<phenomenon>`` (0..1; chance is 0.5); beside them
``logprob_margin``, the mean over pairs of score(good) - score(bad) with the very scores the
accuracy compares (nats; positive when the grammatical sentence is preferred).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmark import registry
from benchmark.data.tokenizer import SENTINELS
from benchmark.formats import training
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.likelihood import mean_or_none
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.metric_spec import MetricSpec
from benchmark.models.base import lm_head
from benchmark.models.kinds import ModelKind, attention_mask


def scoring_forms(model, kind: ModelKind) -> list[str]:
    """The likelihoods a checkpoint is scored by, primary first: what its objective saved in its config
    (``objbench_scores``), else the one form that suits ``kind``."""
    declared = getattr(getattr(model, "config", None), "objbench_scores", None)
    if declared:
        unknown = sorted(set(declared) - set(FORMS))
        if unknown:
            raise ValueError(f"unknown zero-shot scoring {unknown}; known: {sorted(FORMS)}")
        return list(declared)
    return [DEFAULT_FORM[ModelKind(kind)]]


DEFAULT_FORM = {ModelKind.CAUSAL: "log_likelihood", ModelKind.PREFIX: "log_likelihood",
                ModelKind.ENCODER: "pseudo_log_likelihood", ModelKind.ENCODER_DECODER: "sentinel"}
FORMS = ("log_likelihood", "pseudo_log_likelihood", "sentinel", "masked_next", "elbo")
DEFAULT_ELBO_SAMPLES = 16


def sentence_scores(model, sentences: list[str], tokenizer, kind: ModelKind, batch_size: int,
                    device: torch.device, precision: str = "fp32", form: str | None = None,
                    seeds: list[int] | None = None) -> torch.Tensor:
    """One score per sentence: (pseudo-)log-likelihood in the form that suits ``kind``, or ``form`` where given.
    ``seeds`` (one per sentence) seed the ELBO's draws; sentences that share a seed draw alike."""
    kind = ModelKind(kind)
    ids = [[tokenizer.eos_token_id, *row] for row in tokenizer(sentences, add_special_tokens=False)["input_ids"]]
    form = form or DEFAULT_FORM[kind]
    if form == "masked_next":
        return pseudo_log_likelihood(model, ids, tokenizer.pad_token_id, tokenizer.mask_token_id, batch_size, device,
                                     precision, shift=1)
    if form == "elbo":
        samples = getattr(model.config, "objbench_elbo_samples", DEFAULT_ELBO_SAMPLES)
        return elbo(model, ids, tokenizer.pad_token_id, tokenizer.mask_token_id, samples,
                    seeds if seeds is not None else list(range(len(ids))), batch_size, device, precision)
    if form == "log_likelihood":
        return log_likelihood(model, ids, tokenizer.pad_token_id, kind, batch_size, device, precision)
    if form == "pseudo_log_likelihood":
        return pseudo_log_likelihood(model, ids, tokenizer.pad_token_id, tokenizer.mask_token_id, batch_size, device,
                                     precision)
    sentinel = tokenizer.convert_tokens_to_ids(SENTINELS[0])
    return sentinel_log_likelihood(model, ids, tokenizer.pad_token_id, sentinel, batch_size, device, precision)


def log_likelihood(model, ids: list[list[int]], pad_id: int, kind: ModelKind, batch_size: int, device, precision
                   ) -> torch.Tensor:
    """Sum over positions t >= 1 of log p(token t | tokens < t); a prefix decoder gets a one-token prefix."""
    out = []
    for start in range(0, len(ids), batch_size):
        rows = training.pad(ids[start:start + batch_size], pad_id).to(device)
        padding = (rows != pad_id).long()
        mask = attention_mask(kind, padding, prefix_lengths=torch.ones(len(rows), dtype=torch.long, device=device))
        with autocast(device, precision):
            logits = model(input_ids=rows, attention_mask=mask).logits
        logp = F.log_softmax(logits[:, :-1].float(), -1).gather(-1, rows[:, 1:, None]).squeeze(-1)
        out.append((logp * padding[:, 1:]).sum(1).cpu())
    return torch.cat(out)


def _masked_copies(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every (sentence, position >= 1) pair as one row: the padded sentence, the position, the sentence index."""
    rows = training.pad(ids, pad_id)
    lengths = torch.tensor([len(r) for r in ids])
    sentence = torch.repeat_interleave(torch.arange(len(ids)), lengths - 1)
    position = torch.cat([torch.arange(1, n) for n in lengths.tolist()])
    return rows, lengths, sentence, position


def pseudo_log_likelihood(model, ids: list[list[int]], pad_id: int, mask_id: int, batch_size: int, device,
                          precision, shift: int = 0) -> torch.Tensor:
    """Sum over positions t >= 1 of log p(token t | every other token), token t replaced by ``[MASK]``, read at
    position t - ``shift`` (1: masked next-token prediction, GPT-BERT's alignment)."""
    rows, lengths, sentence, position = _masked_copies(ids, pad_id)
    scores = torch.zeros(len(ids))
    for chunk in torch.arange(len(sentence)).split(batch_size):
        s, p = sentence[chunk], position[chunk]
        width = int(lengths[s].max())
        inputs = rows[s, :width].clone()
        targets = inputs[torch.arange(len(chunk)), p]
        inputs[torch.arange(len(chunk)), p] = mask_id
        padding = (torch.arange(width)[None, :] < lengths[s][:, None]).long()
        inputs, padding = inputs.to(device), padding.to(device)
        with autocast(device, precision):
            hidden = model.base_model(input_ids=inputs, attention_mask=attention_mask(ModelKind.ENCODER, padding))
        at_mask = hidden.last_hidden_state[torch.arange(len(chunk)), (p - shift).to(device)]
        logits = lm_head(model)(at_mask).float()
        scores.index_add_(0, s, F.log_softmax(logits, -1).gather(-1, targets.to(device)[:, None]).squeeze(-1).cpu())
    return scores


def elbo_draws(n: int, samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a sentence of ``n`` scored tokens: [samples, n] masks (l of the n positions, l uniform in 1..n) and
    each sample's weight n / l, drawn from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    counts = torch.randint(1, n + 1, (samples,), generator=generator)
    ranks = torch.rand(samples, n, generator=generator).argsort(1).argsort(1)  # a random order of the positions
    return ranks < counts[:, None], n / counts.double()


def elbo(model, ids: list[list[int]], pad_id: int, mask_id: int, samples: int, seeds: list[int], batch_size: int,
         device, precision) -> torch.Tensor:
    """The masked diffusion ELBO of each sentence, by ``samples`` Monte Carlo samples (see the module's notes):
    mean over samples of (n / l) x sum over the l masked positions of log p(token | masked sentence).

    Position 0 (the ``[EOS]`` every sentence is read after) is never masked.
    """
    rows, masks, weights, owner = [], [], [], []
    for index, (row, seed) in enumerate(zip(ids, seeds, strict=True)):
        n = len(row) - 1
        if n < 1:
            continue
        masked, weight = elbo_draws(n, samples, seed)
        rows.extend([row] * samples)
        masks.extend(torch.cat([torch.zeros(samples, 1, dtype=torch.bool), masked], 1))
        weights.append(weight)
        owner.extend([index] * samples)
    scores = torch.zeros(len(ids), dtype=torch.float64)
    if not rows:
        return scores.float()
    weights, owner = torch.cat(weights), torch.tensor(owner)
    for chunk in torch.arange(len(rows)).split(batch_size):
        batch = training.pad([rows[i] for i in chunk.tolist()], pad_id)
        mask = training.pad([masks[i].tolist() for i in chunk.tolist()], 0).bool()
        padding = (training.pad([[1] * len(rows[i]) for i in chunk.tolist()], 0)).to(device)
        inputs = torch.where(mask, mask_id, batch).to(device)
        with autocast(device, precision):
            hidden = model.base_model(input_ids=inputs, attention_mask=attention_mask(ModelKind.ENCODER, padding))
        where = mask.to(device)
        logits = lm_head(model)(hidden.last_hidden_state[where]).float()
        logp = F.log_softmax(logits, -1).gather(-1, batch.to(device)[where][:, None]).squeeze(-1).double().cpu()
        per_row = torch.zeros(len(chunk), dtype=torch.float64).index_add_(
            0, torch.nonzero(mask, as_tuple=True)[0], logp)
        scores.index_add_(0, owner[chunk], per_row * weights[chunk] / samples)
    return scores.float()


def sentinel_log_likelihood(model, ids: list[list[int]], pad_id: int, sentinel: int, batch_size: int, device,
                            precision) -> torch.Tensor:
    """Sum over positions t >= 1 of log p(token t | input with token t as ``<extra_id_0>``), as the
    decoder's second prediction after ``[start] <extra_id_0>`` (span corruption's target layout)."""
    rows, lengths, sentence, position = _masked_copies(ids, pad_id)
    start = model.config.decoder_start_token_id
    scores = torch.zeros(len(ids))
    for chunk in torch.arange(len(sentence)).split(batch_size):
        s, p = sentence[chunk], position[chunk]
        width = int(lengths[s].max())
        inputs = rows[s, :width].clone()
        targets = inputs[torch.arange(len(chunk)), p]
        inputs[torch.arange(len(chunk)), p] = sentinel
        padding = (torch.arange(width)[None, :] < lengths[s][:, None]).long()
        decoder_inputs = torch.tensor([[start, sentinel]]).expand(len(chunk), 2)
        with autocast(device, precision):
            logits = model(input_ids=inputs.to(device), attention_mask=padding.to(device),
                           decoder_input_ids=decoder_inputs.to(device)).logits
        logp = F.log_softmax(logits[:, 1].float(), -1).gather(-1, targets.to(device)[:, None]).squeeze(-1)
        scores.index_add_(0, s, logp.cpu())
    return scores


def pair_metrics(split, scores: torch.Tensor) -> dict[str, float]:
    """Accuracy of scoring ``split["good"]`` above ``split["bad"]``, overall and per ``phenomenon``.

    ``scores`` holds one score per sentence of ``list(split["good"]) + list(split["bad"])``, in
    that order; a tie counts as wrong.
    """
    n = len(split)
    right = (scores[:n] > scores[n:]).float()
    metrics = {"accuracy": float(right.mean())}
    phenomena = list(split["phenomenon"]) if "phenomenon" in split.column_names else []
    for name in sorted(set(phenomena)):
        chosen = torch.tensor([p == name for p in phenomena])
        metrics[f"accuracy_{name}"] = float(right[chosen].mean())
    return metrics


def pair_items(split, scores: torch.Tensor) -> dict:
    """Each pair's outcome (1: the good sentence scored above the bad one), laid out as :func:`pair_metrics`
    takes the scores: what its accuracy is the mean of."""
    n = len(split)
    return mean_items("accuracy", (scores[:n] > scores[n:]).float().tolist())


def logprob_margin(split, scores: torch.Tensor) -> float | None:
    """The mean over pairs of score(good) - score(bad), ``scores`` laid out as :func:`pair_metrics` takes
    them (None for no pairs)."""
    n = len(split)
    return mean_or_none([scores[:n] - scores[n:]])


@registry.formats.register("zero_shot")
class ZeroShot:
    """Zero-shot minimal pairs (BLiMP-style): does the pretrained model prefer the grammatical sentence?"""

    # BLiMP-style minimal pairs: chance is 0.5.
    primary_metric = MetricSpec("accuracy", higher_is_better=True, max_value=1.0)
    # log p(good) - log p(bad) in nats, averaged over pairs: how strongly, not only how often (unbounded).
    companion_metric = MetricSpec("logprob_margin", higher_is_better=True, max_value=None)
    finetunes = False  # the harness evaluates the pretrained model as it is

    def unsupported(self, kind: ModelKind) -> str | None:
        """Every kind fits: each has a likelihood (or pseudo-likelihood) of its own form."""
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        """The pretrained language model with its LM head (random for the ``none`` control)."""
        return training.language_model(entry, checkpoint, setup, kind)

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Accuracy of preferring ``split["good"]`` over ``split["bad"]``, overall and per ``phenomenon``, and
        the mean log-likelihood margin between them (``logprob_margin``) from the same scores."""
        n = len(split)
        model.to(device).eval()
        forms = scoring_forms(model, kind)
        sentences = list(split["good"]) + list(split["bad"])
        meter = Throughput(device, warmup=0)
        with PeakMemory(device) as memory:
            if forms == [DEFAULT_FORM[ModelKind(kind)]]:
                scores = sentence_scores(model, sentences, tokenizer, kind, recipe.batch_size * 16, device, precision)
                extra = {}
            else:  # the pair's two sentences share a seed: the ELBO draws alike for both
                scored = {form: sentence_scores(model, sentences, tokenizer, kind, recipe.batch_size * 16, device,
                                                precision, form=form, seeds=list(range(n)) * 2) for form in forms}
                scores = scored[forms[0]]
                extra = {f"{form}_{name}": value for form in forms[1:]
                         for name, value in (("accuracy", pair_metrics(split, scored[form])["accuracy"]),
                                             ("logprob_margin", logprob_margin(split, scored[form])))}
            meter.step(tokens=0, samples=2 * n)
        metrics = {**pair_metrics(split, scores), self.companion_metric.name: logprob_margin(split, scores), **extra}
        scoring = {"forms": forms}
        if "elbo" in forms:
            scoring["elbo_samples"] = getattr(model.config, "objbench_elbo_samples", DEFAULT_ELBO_SAMPLES)
        return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": n, "scoring": scoring,
                         ITEMS_KEY: pair_items(split, scores)}
