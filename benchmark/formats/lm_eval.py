"""lm-evaluation-harness as a second evaluator: its tasks scored on objbench's checkpoints by lm-eval's own HFLM.

Causal decoders and encoder-decoders are scored (lm-eval's ``causal`` and ``seq2seq`` backends);
encoders are not, for lm-eval does not score masked LMs (lm-eval #202, #1840), and prefix decoders
are not either, for lm-eval would run them with transformers' causal mask, which is not the
attention they were trained with. objbench's own ``zero_shot`` format scores every kind.
"""

from __future__ import annotations

import torch

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.formats import training
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.likelihood import mean_or_none
from benchmark.measure import PeakMemory, Throughput
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind


@registry.formats.register("lm_eval")
class LmEval:
    """A multiple-choice task of lm-evaluation-harness, scored zero-shot (or few-shot) by lm-eval itself."""

    # lm-eval's acc: the share of items whose gold choice has the highest log-likelihood.
    primary_metric = MetricSpec("accuracy", higher_is_better=True, max_value=1.0)
    # the gold choice's log-likelihood in nats, averaged over items, from lm-eval's own responses (unbounded)
    companion_metric = MetricSpec("gold_loglikelihood", higher_is_better=True, max_value=None)
    finetunes = False

    def unsupported(self, kind: ModelKind) -> str | None:
        """Encoders and prefix decoders are left to objbench's own zero-shot scoring (see the module)."""
        if ModelKind(kind) is ModelKind.ENCODER:
            return "lm-evaluation-harness does not score masked language models (lm-eval #202, #1840)"
        if ModelKind(kind) is ModelKind.PREFIX:
            return ("lm-evaluation-harness runs a decoder with transformers' causal mask, not the bidirectional "
                    "prefix it was trained with")
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        """The pretrained language model with its LM head (random for the ``none`` control)."""
        return training.language_model(entry, checkpoint, setup, kind)

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """lm-eval's accuracy on the task the split names, the gold choice's mean log-likelihood, and what lm-eval
        says of itself (its version, the task's version, shots, items) in the statistics."""
        import lm_eval
        from lm_eval.models.huggingface import HFLM

        from benchmark.tasks.lm_eval_task import task_manager  # lm-eval's index, built once per process

        name, include = split["name"][0], split["include_path"][0] or None  # the one row naming the task
        shots, limit = split["num_fewshot"][0], split["limit"][0] or None
        model.to(device).eval()
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=recipe.batch_size, device=str(device),
                  backend="seq2seq" if ModelKind(kind) is ModelKind.ENCODER_DECODER else "causal")
        meter = Throughput(device, warmup=0)
        with PeakMemory(device) as memory:
            out = lm_eval.simple_evaluate(
                model=lm, tasks=[name], task_manager=task_manager(include), num_fewshot=shots,
                limit=limit, log_samples=True, bootstrap_iters=0,
                random_seed=0, numpy_random_seed=0, torch_random_seed=0, fewshot_random_seed=0)
            samples = out["samples"][name]
            meter.step(tokens=0, samples=len(samples))
        scores = out["results"][name]
        if "acc,none" not in scores:
            raise ObjbenchError(f"lm_eval task {name}: lm-eval reports no acc ({sorted(scores)}); objbench ranks "
                                "lm-eval's multiple-choice tasks by their accuracy")
        correct = [float(s["acc"]) for s in samples]
        gold = [s["filtered_resps"][int(s["target"])][0] for s in samples]
        metrics = {"accuracy": float(scores["acc,none"]),
                   self.companion_metric.name: mean_or_none([torch.tensor(gold)]),
                   **({"accuracy_norm": float(scores["acc_norm,none"])} if "acc_norm,none" in scores else {})}
        about = {"version": out.get("lm_eval_version") or lm_eval.__version__, "task": name,
                 "task_version": out["versions"].get(name), "num_fewshot": out["n-shot"].get(name),
                 "items": len(samples), "config_source": (out["configs"][name].get("metadata") or {}).get(
                     "config_source")}
        return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(samples),
                         "lm_eval": about, ITEMS_KEY: mean_items("accuracy", correct)}
