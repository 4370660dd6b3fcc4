"""Closed-book question answering: the question alone, the answer from what the model stored.

Decoders and encoder-decoders generate the answer (``question [SEP] answer [EOS]``, greedy
decoding; see ``generation.py``). A bidirectional encoder cannot generate, so it answers by
classification over the answers that occur in the training split (the ``[EOS]`` state pools
the question, as in ``classification.py``): a closed answer vocabulary, which suits closed
attribute sets such as cities or professions; a test answer outside it is always wrong.
Both are scored by SQuAD exact match and token F1 (0..1) on the answer text. Beside them the
generators record ``ref_token_logprob``, the reference answer's mean log-probability per token
under teacher forcing (as translation does); an encoder records None (see ``evaluate``).
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

from benchmark import registry
from benchmark.formats import generation, training
from benchmark.formats.classification import encode
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.text_metrics import answer_item_scores, answer_scores
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind, attention_mask

MAX_ANSWER_TOKENS = 8


def _classifies(kind: ModelKind) -> bool:
    return ModelKind(kind) is ModelKind.ENCODER


def _encoder_inputs(input_ids: torch.Tensor, pad_id: int) -> dict:
    padding = input_ids != pad_id
    width = int(padding.sum(1).max())
    return {"input_ids": input_ids[:, :width],
            "attention_mask": attention_mask(ModelKind.ENCODER, padding[:, :width].long())}


def _classify(model, questions: list[str], tokenizer, recipe, device, precision) -> list[str]:
    input_ids = encode(questions, tokenizer, recipe.max_length)
    model.to(device).eval()
    predicted = []
    for index in torch.arange(len(questions)).split(recipe.batch_size * 4):
        batch = {k: v.to(device) for k, v in _encoder_inputs(input_ids[index], tokenizer.pad_token_id).items()}
        with autocast(device, precision):
            predicted += model(**batch).logits.argmax(-1).tolist()
    return [model.config.id2label[i] for i in predicted]


@registry.formats.register("closed_book_qa")
class ClosedBookQA:
    """Closed-book question answering: the question alone, the answer from what the model stored."""

    # Token F1 rather than exact match: partial answers still separate small models.
    primary_metric = MetricSpec("f1", higher_is_better=True, max_value=1.0)
    # Teacher-forced log p per reference-answer token (nats, <= 0; unbounded below); None for an encoder.
    companion_metric = MetricSpec("ref_token_logprob", higher_is_better=True, max_value=None)
    finetunes = True

    def unsupported(self, kind: ModelKind) -> str | None:
        """Every kind fits: encoders classify over answers, the others generate."""
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        """A generator, or for an encoder a classifier with one class per distinct training answer."""
        if not _classifies(kind):
            auto = AutoModelForSeq2SeqLM if ModelKind(kind) is ModelKind.ENCODER_DECODER else AutoModelForCausalLM
            return training.load(auto, entry, checkpoint, setup, kind)
        answers = sorted(set(split["answer"]))
        model = entry.build_classifier(checkpoint, setup.size, setup.tokenizer, len(answers), kind)
        model.config.id2label = dict(enumerate(answers))
        model.config.label2id = {a: i for i, a in enumerate(answers)}
        return model

    def finetune(self, model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device,
                 precision: str):
        """Train on ``split`` (columns question, answer) with the suite's shared recipe."""
        questions, answers = list(split["question"]), list(split["answer"])
        if not _classifies(kind):
            make_batch = generation.training_batches(questions, answers, tokenizer, kind, recipe.max_length)
            head = training.untie_output_head(model) if recipe.mode == "linear_probe" else model.get_output_embeddings()
            return training.train(model, head, len(answers), make_batch, recipe, seed, device, precision)
        input_ids = encode(questions, tokenizer, recipe.max_length)
        labels = torch.tensor([model.config.label2id[a] for a in answers])

        def make_batch(index: torch.Tensor) -> dict:
            return {**_encoder_inputs(input_ids[index], tokenizer.pad_token_id), "labels": labels[index]}
        return training.train(model, training.classifier_head(model), len(answers), make_batch, recipe, seed, device,
                              precision)

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Exact match and token F1 of the predicted answers to ``split["question"]``, and for a generator
        ``ref_token_logprob``: the reference answers' teacher-forced log-likelihood per token.

        An encoder records None for it. It classifies over the training split's answers, so it
        has no per-token likelihood of an answer text, and a test answer outside that closed set
        has probability 0 (log-probability minus infinity): a class log-probability would be
        neither finite nor comparable with the generators' per-token one.
        """
        questions, references = list(split["question"]), list(split["answer"])
        meter = Throughput(device, warmup=0)
        logprob = None
        with PeakMemory(device) as memory:
            if _classifies(kind):
                predictions = _classify(model, questions, tokenizer, recipe, device, precision)
            else:
                generated = generation.greedy_decode(model, questions, tokenizer, kind, recipe.max_length,
                                                     MAX_ANSWER_TOKENS, recipe.batch_size * 8, device, precision)
                predictions = [generation.decode_text(tokenizer, ids) for ids in generated]
                logprob, _ = generation.reference_logprob(model, questions, references, tokenizer, kind,
                                                          recipe.max_length, recipe.batch_size * 4, device, precision)
            meter.step(tokens=0, samples=len(questions))
        metrics = {**answer_scores(predictions, references), self.companion_metric.name: logprob}
        items = mean_items(self.primary_metric.name, answer_item_scores(predictions, references)["f1"])
        return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(questions),
                         ITEMS_KEY: items}
