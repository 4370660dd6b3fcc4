"""``objbench export``: each pretrained checkpoint as a ready-to-use Hugging Face model repository.

A folder per checkpoint holds its weights, config and tokenizer (as ``save_pretrained`` wrote them)
and a model card (``huggingface_hub.ModelCard``) whose metadata names what made it: the objective,
model family and size, pretraining seed, FLOPs and tokens, the corpus and its revision, and the
suite's recorded scores, each with this checkpoint's own score and the objective's mean and
interval over pretraining seeds, as the report gives them; the card's text says the same with the
run records' provenance. ``--push`` uploads each folder with ``huggingface_hub`` (a ladder's rungs as
revisions of one repository), and refuses in one line where the Hub cannot be reached.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmark.cache import cache_dir
from benchmark.errors import ObjbenchError
from benchmark.files import MANIFEST, damage, publish

# The Hub's task type for each of objbench's task formats (its model-index results are grouped by these).
HUB_TASK_TYPES = {"classification": "text-classification", "extractive_qa": "question-answering",
                  "translation": "translation", "closed_book_qa": "text-generation", "zero_shot": "other"}


def checkpoints(records: list[dict]) -> dict[str, list[dict]]:
    """The records of every pretrained checkpoint among ``records``, by checkpoint key."""
    found: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record.get("checkpoint") and not record.get("published"):
            found[record["checkpoint"]].append(record)
    return dict(found)


def repository_name(record: dict) -> str:
    """A checkpoint's folder and repository name: llama-tiny-clm-seed0 (-rung0.5 below the budget)."""
    rung = record.get("rung")
    below = f"-rung{rung:g}" if rung not in (None, 1.0) else ""
    return f"{record['model']}-{record['size']}-{record['objective']}-seed{record['pretrain_seed']}{below}"


def scores(own: list[dict], board_rows: list[dict]) -> list[dict]:
    """Per task: this checkpoint's score (its mean over finetuning seeds) and the objective's mean and interval
    over pretraining seeds from the suite's board (none for a ladder's rung below the budget: the board's
    intervals are for the whole budget)."""
    out = []
    first = own[0]
    for task in sorted({r["task"] for r in own}):
        runs = [r for r in own if r["task"] == task]
        metric = runs[0]["primary_metric"]["name"]
        values = [r["metrics"][metric] for r in runs if r["metrics"].get(metric) is not None]
        below = first.get("rung") not in (None, 1.0)  # the board's intervals are for the whole budget
        row = None if below else next((b for b in board_rows if (b["model"], b["objective"], b["task"]) ==
                                       (first["model"], first["objective"], task)), None)
        out.append({"task": task, "format": runs[0]["task_format"], "metric": metric,
                    "this_checkpoint": sum(values) / len(values) if values else None,
                    "finetuning_seeds": sorted(r["finetune_seed"] for r in runs),
                    "objective_mean": _plain(row["mean"]) if row else None,
                    "objective_ci": [_plain(row["ci_low"]), _plain(row["ci_high"])] if row else None,
                    "pretraining_seeds": list(row["pretrain_seeds"]) if row else None})
    return out


def _plain(value: Any) -> Any:
    try:
        return None if value != value else float(value)  # NaN -> None
    except TypeError:
        return value


def card(own: list[dict], board_rows: list[dict], confidence: float):
    """The model card of one checkpoint, from its run records and the suite's board."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    first = own[0]
    pretrain, config, env = first["pretrain"], first.get("config") or {}, first.get("environment") or {}
    corpus = config.get("corpus") or {}
    name = repository_name(first)
    table = scores(own, board_rows)
    results = [EvalResult(task_type=HUB_TASK_TYPES.get(s["format"], "other"), dataset_type=s["task"],
                          dataset_name=s["task"], metric_type=s["metric"], metric_value=s["this_checkpoint"])
               for s in table if s["this_checkpoint"] is not None]
    provenance = {"suite": first["suite"], "run_ids": sorted(r["run_id"] for r in own),
                  "checkpoint": first["checkpoint"], "schema_version": first["schema_version"],
                  "git_commit": env.get("git_commit"), "packages": env.get("packages"),
                  "device": env.get("device"), "device_name": env.get("device_name"),
                  "precision": env.get("precision"), "recorded": sorted({r["created_at"] for r in own})[-1]}
    data = ModelCardData(
        model_name=name, library_name="transformers", eval_results=results or None,
        tags=["objbench", first["objective"], str(pretrain.get("kind") or ""), first["model"]],
        objbench={"objective": first["objective"], "objective_params": first.get("objective_params"),
                  "model": first["model"], "size": first["size"], "kind": pretrain.get("kind"),
                  "pretrain_seed": first["pretrain_seed"], "rung": first.get("rung"),
                  "pretrain_flops": pretrain.get("flops"), "pretrain_tokens": pretrain.get("tokens"),
                  "pretrain_steps": pretrain.get("steps"), "parameters": pretrain.get("parameters"),
                  "corpus": {"id": first.get("corpus_id"), "source": corpus.get("source"),
                             "dataset": corpus.get("dataset"), "config": corpus.get("config"),
                             "revision": corpus.get("revision"), "path": corpus.get("path")},
                  "tokenizer_id": first.get("tokenizer_id"), "scores": table,
                  "interval_confidence": confidence, "provenance": provenance})
    lines = [f"# {name}", "",
             f"A {first['model']} model ({first['size']} preset, {pretrain.get('kind')}) pretrained with the "
             f"`{first['objective']}` objective by objbench, suite `{first['suite']}`: pretraining seed "
             f"{first['pretrain_seed']}, {_count(pretrain.get('flops'))} training FLOPs, "
             f"{_count(pretrain.get('tokens'))} tokens, {_count(pretrain.get('parameters'))} parameters, on the "
             f"{corpus.get('source') or 'recorded'} corpus `{first.get('corpus_id')}`"
             + (f" ({corpus.get('dataset')}, revision {corpus.get('revision')})" if corpus.get("dataset") else "")
             + ".", "",
             "Every objective of the suite had the same data, tokenizer, architecture, budget and finetuning "
             "recipe; only the objective differs.", "", *_attention_note(pretrain.get("kind"), first["model"]),
             f"| task | metric | this checkpoint | `{first['objective']}` over pretraining seeds "
             f"({confidence:.0%} interval) |", "|---|---|---|---|"]
    for s in table:
        ci = s["objective_ci"]
        mean = "" if s["objective_mean"] is None else (
            f"{s['objective_mean']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] (seeds {s['pretraining_seeds']})"
            if ci and None not in ci else f"{s['objective_mean']:.3f}")
        mine = "" if s["this_checkpoint"] is None else f"{s['this_checkpoint']:.3f}"
        lines.append(f"| {s['task']} | {s['metric']} | {mine} | {mean} |")
    lines += ["", "## Use", "", "```python", "from transformers import AutoModel, AutoTokenizer", "",
              f'model = AutoModel.from_pretrained("{name}")', f'tokenizer = AutoTokenizer.from_pretrained("{name}")',
              "```", "", "## Provenance", "", "The run records this card was written from:", "", "```json",
              json.dumps(provenance, indent=1, sort_keys=True), "```", ""]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))


def _attention_note(kind: str | None, model: str) -> list[str]:
    """What a user of a decoder stack trained with other than causal attention must know before loading it."""
    if kind in ("encoder", "prefix_decoder") and model in ("llama", "gpt2"):
        seen = "every position" if kind == "encoder" else "its prefix bidirectionally, the rest causally"
        return [f"It was trained as a {kind}: each position attended to {seen}. The {model} classes of "
                "transformers mask causally unless given a full attention mask of their own (a 4-D mask of "
                "shape [batch, 1, query, key]); without one, the model computes what it was not trained on.", ""]
    return []


def _count(value: Any) -> str:
    return "an unknown number of" if value is None else f"{float(value):.3g}"


def export(records: list[dict], board_rows: list[dict], results_dir: str | Path, to: Path,
           confidence: float) -> list[Path]:
    """Write every checkpoint ``records`` finetuned under ``to``, one folder each (published whole, by one
    rename); returns the folders."""
    found = checkpoints(records)
    if not found:
        raise ObjbenchError("nothing to export: these runs started from no pretrained checkpoint (untrained "
                            "controls, baselines and published checkpoints have none of objbench's)")
    plan = sorted(found.items(), key=lambda item: repository_name(item[1][0]))
    for key, own in plan:  # every problem found before anything is written
        source = cache_dir(results_dir, "checkpoints") / key
        if not source.is_dir():
            raise ObjbenchError(f"checkpoint {key} of run {own[0]['run_id']} is not under {source.parent}: "
                                "export from the results store that trained it (or run the suite again)")
        problem = damage(source)
        if problem:
            raise ObjbenchError(f"checkpoint {source} is damaged ({problem}): `objbench doctor --repair` and a "
                                "new run make it again")
        if (to / repository_name(own[0])).exists():
            raise ObjbenchError(f"{to / repository_name(own[0])} exists: export to another folder, or remove it")
    written = []
    for key, own in plan:
        source = cache_dir(results_dir, "checkpoints") / key

        def write(tmp: Path, source=source, own=own) -> None:  # whole or not at all: published by one rename
            shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(MANIFEST))
            (tmp / "pretrain.json").rename(tmp / "objbench_pretrain.json")
            card(own, board_rows, confidence).save(tmp / "README.md")
        written.append(publish(to / repository_name(own[0]), write))
    return written


def check_push() -> None:
    """--push where the Hub is offline (HF_HUB_OFFLINE): one line, before anything is exported."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise ObjbenchError("--push: the Hugging Face Hub is offline here (HF_HUB_OFFLINE is set); export "
                            "without --push, then upload the folders from a machine that reaches the Hub")


def push(folders: list[Path], repository: str) -> list[str]:
    """Upload each exported folder with huggingface_hub: one repository per pretraining run, named
    ``repository`` for a single run (else ``repository-<folder>``), its final checkpoint on ``main`` and each
    rung below the budget on a branch of its own (``rung0.5``). Returns the URLs."""
    from huggingface_hub import HfApi

    check_push()
    api, urls = HfApi(), []
    runs = {folder.name.split("-rung")[0] for folder in folders}
    try:
        for folder in folders:
            run, _, rung = folder.name.partition("-rung")
            repo = repository if len(runs) == 1 else f"{repository}-{run}"
            api.create_repo(repo, exist_ok=True)
            branch = f"rung{rung}" if rung else None
            if branch:
                api.create_branch(repo, branch=branch, exist_ok=True)
            urls.append(str(api.upload_folder(repo_id=repo, folder_path=folder, revision=branch,
                                              commit_message=f"objbench export of {folder.name}")))
    except Exception as error:  # network, authentication, a name the Hub refuses: each one line
        first = str(error).splitlines()[0] if str(error) else ""
        raise ObjbenchError(f"--push {repository}: {type(error).__name__}: {first}") from None
    return urls
