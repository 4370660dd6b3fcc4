"""What every finetuning format shares: loading a model with a task head, the one recipe, linear probing.

The recipe is the suite's ``finetune`` block, the same for every objective: AdamW, linear
warm-up and decay, ``epochs`` shuffled passes in batches of ``batch_size``. In
``linear_probe`` mode only the task head trains and the pretrained network is frozen, so the
score shows what pretraining stored rather than what finetuning could still build.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, get_linear_schedule_with_warmup

from benchmark.errors import ObjbenchError
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.models.kinds import ModelKind

CURVE_POINTS = 20  # points kept on a finetuning run's loss curve (each the mean loss since the last)


def load(auto_class, entry, checkpoint: Path | None, setup, kind: ModelKind):
    """``auto_class`` (e.g. ``AutoModelForQuestionAnswering``) on the checkpoint's weights, or randomly
    initialised from the model entry's preset for the ``none`` control.

    A head class may name its backbone differently from the pretrained class (transformers'
    ``LlamaForQuestionAnswering`` calls it ``transformer``, ``LlamaForCausalLM`` ``model``), in
    which case ``from_pretrained`` would silently leave the backbone random; the backbone is then
    loaded on its own and copied in, strictly.
    """
    if checkpoint is None:
        if ModelKind(kind) is ModelKind.ENCODER_DECODER:
            config = entry.encoder_decoder_config(setup.size, setup.tokenizer)
        else:
            config = entry.config(setup.size, setup.tokenizer)
        config.objbench_kind = str(kind)
        return auto_class.from_config(config, attn_implementation="sdpa")
    model, info = auto_class.from_pretrained(checkpoint, attn_implementation="sdpa", output_loading_info=True)
    if info["unexpected_keys"]:
        if not hasattr(model, model.base_model_prefix):
            raise ObjbenchError(f"{type(model).__name__} cannot use {checkpoint}: unexpected weights "
                                f"{info['unexpected_keys'][:3]}")
        backbone = AutoModel.from_pretrained(checkpoint, attn_implementation="sdpa")
        getattr(model, model.base_model_prefix).load_state_dict(backbone.state_dict())
    return model


def language_model(entry, checkpoint: Path | None, setup, kind: ModelKind):
    """The pretrained language model with its LM head (random for the ``none`` control): what a zero-shot
    format scores as it is."""
    auto = AutoModelForSeq2SeqLM if ModelKind(kind) is ModelKind.ENCODER_DECODER else AutoModelForCausalLM
    return load(auto, entry, checkpoint, setup, kind)


def untie_output_head(model) -> torch.nn.Module:
    """Give a language model its own output projection (a copy of the tied embeddings) and return it.

    With tied embeddings the output layer *is* the input embedding table; a linear probe must
    train the one without moving the other.
    """
    head = model.get_output_embeddings()
    head.weight = torch.nn.Parameter(head.weight.detach().clone())
    model.config.tie_word_embeddings = False  # nothing may tie them again
    return head


def classifier_head(model) -> torch.nn.Module:
    """The layers a sequence classifier adds on its backbone: Llama's and GPT-2's linear ``score``; T5's
    ``classification_head`` (dense, tanh, linear: T5's own head, which the probe trains whole); BERT's,
    ELECTRA's and RoBERTa's ``classifier`` (BERT's pooler belongs to its backbone)."""
    for name in ("score", "classification_head", "classifier"):
        if hasattr(model, name):
            return getattr(model, name)
    raise TypeError(f"{type(model).__name__} has no classification head named score, classification_head or "
                    f"classifier")


def trainable_parameters(model, mode: str, head: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Every parameter (``full``), or only the head's with the rest frozen (``linear_probe``)."""
    if mode == "full":
        return list(model.parameters())
    if mode != "linear_probe":
        raise ValueError(f"unknown finetuning mode {mode!r}")
    model.requires_grad_(False)
    head.requires_grad_(True)
    return list(head.parameters())


def train(model, head: torch.nn.Module, examples: int, make_batch: Callable[[torch.Tensor], dict], recipe,
          seed: int, device: torch.device, precision: str) -> dict:
    """The shared recipe over ``examples`` examples; ``make_batch(indices)`` gives model inputs with labels.

    Returns throughput, peak memory, what was trained and the loss curve (``CURVE_POINTS`` points of
    step, mean loss since the point before, and learning rate).
    """
    model.to(device).train()
    parameters = trainable_parameters(model, recipe.mode, head)
    steps_per_epoch = -(-examples // recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    optimizer = torch.optim.AdamW(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(recipe.warmup_ratio * total), total)
    generator = torch.Generator().manual_seed(seed)
    meter = Throughput(device)
    every, curve, running = max(1, total // CURVE_POINTS), [], []
    with PeakMemory(device) as memory:
        for _ in range(recipe.epochs):
            for index in torch.randperm(examples, generator=generator).split(recipe.batch_size):
                batch = {k: v.to(device) for k, v in make_batch(index).items()}
                with autocast(device, precision):
                    loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
                running.append(loss.detach())
                if meter.steps % every == 0 or meter.steps == total:
                    curve.append({"step": meter.steps, "loss": torch.stack(running).float().mean().item(),
                                  "lr": schedule.get_last_lr()[0]})
                    running.clear()
    return {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": examples, "epochs": recipe.epochs,
            "mode": recipe.mode, "trained_parameters": sum(p.numel() for p in parameters), "loss_curve": curve}


def clipped(texts: list[str], tokenizer, max_length: int) -> list[str]:
    """Each text cut, before it is tokenized, to the characters that ``max_length`` + 1 tokens can span at most
    (each token spans at most as many characters as the vocabulary's longest token has): what truncation to
    ``max_length`` tokens keeps is kept, and a row of megabytes costs what a row of ``max_length`` tokens costs
    instead of stalling every run that reads it."""
    longest = max(map(len, tokenizer.get_vocab()), default=1)
    width = (max_length + 1) * longest
    return [text[:width] if isinstance(text, str) and len(text) > width else text for text in texts]


def pad(rows: list[list[int]], pad_id: int, left: bool = False) -> torch.Tensor:
    """Rows of token ids as one [n, longest] tensor, padded on the right (or on the left)."""
    width = max(map(len, rows), default=0)
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        start = width - len(row) if left else 0
        out[i, start:start + len(row)] = torch.tensor(row, dtype=torch.long)
    return out
