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


def sentence_scores(model, sentences: list[str], tokenizer, kind: ModelKind, batch_size: int,
                    device: torch.device, precision: str = "fp32") -> torch.Tensor:
    """One score per sentence: (pseudo-)log-likelihood in the form that suits ``kind``."""
    kind = ModelKind(kind)
    ids = [[tokenizer.eos_token_id, *row] for row in tokenizer(sentences, add_special_tokens=False)["input_ids"]]
    if kind in (ModelKind.CAUSAL, ModelKind.PREFIX):
        return log_likelihood(model, ids, tokenizer.pad_token_id, kind, batch_size, device, precision)
    if kind is ModelKind.ENCODER:
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
                          precision) -> torch.Tensor:
    """Sum over positions t >= 1 of log p(token t | every other token), token t replaced by ``[MASK]``."""
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
        at_mask = hidden.last_hidden_state[torch.arange(len(chunk)), p.to(device)]
        logits = lm_head(model)(at_mask).float()
        scores.index_add_(0, s, F.log_softmax(logits, -1).gather(-1, targets.to(device)[:, None]).squeeze(-1).cpu())
    return scores


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
        meter = Throughput(device, warmup=0)
        with PeakMemory(device) as memory:
            scores = sentence_scores(model, list(split["good"]) + list(split["bad"]), tokenizer, kind,
                                     recipe.batch_size * 16, device, precision)
            meter.step(tokens=0, samples=2 * n)
        metrics = {**pair_metrics(split, scores), self.companion_metric.name: logprob_margin(split, scores)}
        return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": n,
                         ITEMS_KEY: pair_items(split, scores)}
