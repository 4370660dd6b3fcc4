"""Translation: finetune a generator on (source, target) pairs, decode greedily, score BLEU and chrF.

Causal and prefix decoders learn ``source [SEP] target [EOS]`` as a language model with loss on
the target only; encoder-decoders learn it as seq2seq (see ``generation.py``). A bidirectional
encoder has no decoder and is skipped. Each translation may run to twice its source's length in
tokens and 10 more, but never past what finetuning trained on (:func:`new_token_caps`); the
statistics record the caps and how many outputs reached theirs. BLEU and chrF are sacrebleu's,
cased, on 0..100, with lower-cased variants beside them (see ``text_metrics``); each record keeps
their sacrebleu signatures with the evaluation statistics.
Beside them ``ref_token_logprob``: the finetuned model's mean log-probability per reference token
under teacher forcing (``generation.reference_logprob``), which moves while BLEU is still 0.
In ``linear_probe`` mode only the output projection trains (untied from the input embeddings).
"""

from __future__ import annotations

import time

import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

from benchmark import registry
from benchmark.formats import generation, training
from benchmark.formats.items import ITEMS_KEY, chrf_items
from benchmark.formats.text_metrics import sacrebleu_scores
from benchmark.measure import PeakMemory, Throughput
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind

LENGTH_RATIO, LENGTH_MARGIN = 2, 10  # a translation rarely runs past twice its source's tokens


def new_token_caps(sources: list[str], tokenizer, kind: ModelKind, max_length: int) -> tuple[list[int], int]:
    """Each source's cap on new tokens, ``LENGTH_RATIO`` x its length + ``LENGTH_MARGIN``, and the ceiling
    that bounds them: a decoder-only model's prompt and output together stay within ``max_length``
    (as finetuning truncated them), an encoder-decoder's output within ``max_length`` itself."""
    kind = ModelKind(kind)
    prompts = [generation.prompt_ids(s, tokenizer, kind, max_length)
               for s in generation.tokenize(sources, tokenizer, max_length)]
    room = [max_length if kind is ModelKind.ENCODER_DECODER else max_length - len(p) for p in prompts]
    caps = [max(1, min(r, LENGTH_RATIO * (len(p) - 1) + LENGTH_MARGIN)) for p, r in zip(prompts, room)]
    return caps, max_length


def translation_metrics(hypotheses: list[str], references: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    """Corpus BLEU and chrF, and their sacrebleu signatures as ``bleu_signature`` and ``chrf_signature``."""
    metrics, signatures = sacrebleu_scores(hypotheses, references)
    return metrics, {f"{name}_signature": signature for name, signature in signatures.items()}


@registry.formats.register("translation")
class Translation:
    """Translation: finetune a generator on (source, target) pairs, decode greedily, score BLEU and chrF."""

    # chrF rather than BLEU: character n-grams still separate tiny models whose BLEU is near 0.
    primary_metric = MetricSpec("chrf", higher_is_better=True, max_value=100.0)
    # Teacher-forced log p per reference token (nats, <= 0; unbounded below): exp(-value) is the test perplexity.
    companion_metric = MetricSpec("ref_token_logprob", higher_is_better=True, max_value=None)
    finetunes = True

    def unsupported(self, kind: ModelKind) -> str | None:
        """Why ``kind`` cannot take this format, or None when it can."""
        if ModelKind(kind) is ModelKind.ENCODER:
            return "translation needs a model that generates; a bidirectional encoder has no decoder"
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        """The pretrained language model (or a random one for the control), with its LM head."""
        auto = AutoModelForSeq2SeqLM if ModelKind(kind) is ModelKind.ENCODER_DECODER else AutoModelForCausalLM
        return training.load(auto, entry, checkpoint, setup, kind)

    def finetune(self, model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device,
                 precision: str):
        """Teacher-forced training on ``split`` (columns source, target) with the suite's shared recipe."""
        make_batch = generation.training_batches(list(split["source"]), list(split["target"]), tokenizer, kind,
                                                 recipe.max_length)
        head = training.untie_output_head(model) if recipe.mode == "linear_probe" else model.get_output_embeddings()
        return training.train(model, head, len(split), make_batch, recipe, seed, device, precision)

    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Corpus BLEU and chrF (cased; ``bleu_lc`` and ``chrf_lc`` lower-cased) of greedy translations of
        ``split["source"]`` against ``split["target"]``, and the references' teacher-forced log-likelihood
        per token (``ref_token_logprob``). The statistics cover both passes; ``reference_tokens`` and
        ``reference_logprob_s`` are the teacher-forced pass's."""
        sources, references = list(split["source"]), list(split["target"])
        meter = Throughput(device, warmup=0)
        with PeakMemory(device) as memory:
            caps, ceiling = new_token_caps(sources, tokenizer, kind, recipe.max_length)
            generated = generation.greedy_decode(model, sources, tokenizer, kind, recipe.max_length,
                                                 caps, recipe.batch_size * 8, device, precision)
            started = time.perf_counter()
            logprob, scored = generation.reference_logprob(model, sources, references, tokenizer, kind,
                                                           recipe.max_length, recipe.batch_size * 4, device, precision)
            reference_s = time.perf_counter() - started  # float() of the sum has synchronised the device
            meter.step(tokens=sum(map(len, generated)), samples=len(generated))
        hypotheses = [generation.decode_text(tokenizer, ids) for ids in generated]
        metrics, signatures = translation_metrics(hypotheses, references)
        stats = {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(generated),
                 "reference_tokens": scored, "reference_logprob_s": reference_s, **signatures,
                 "max_new_tokens": {"ratio": LENGTH_RATIO, "margin": LENGTH_MARGIN, "ceiling": ceiling,
                                    "largest": max(caps, default=0)},
                 "cut_by_cap": sum(len(ids) >= cap for ids, cap in zip(generated, caps)),
                 ITEMS_KEY: chrf_items(self.primary_metric.name, hypotheses, references)}
        return {**metrics, self.companion_metric.name: logprob}, stats
