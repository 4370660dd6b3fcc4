"""Task formats: metrics, likelihood scoring, decoding, linear probing, skips, and one tiny pass of each."""

from __future__ import annotations

import math

import pytest
import sacrebleu
import torch
import torch.nn.functional as F
from transformers import AutoModelForQuestionAnswering

from benchmark import registry
from benchmark.config import CorpusConfig, FinetuneConfig
from benchmark.formats import generation, training, zero_shot
from benchmark.formats.text_metrics import answer_scores, exact_match, normalize_answer, token_f1, translation_scores
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE
from tests.helpers import tiny_raw

CPU = torch.device("cpu")
SYNTHETIC_TASKS = [name for name in registry.tasks.names() if name.startswith("synthetic_")]  # every one, as registered
RECIPE = FinetuneConfig(epochs=1, batch_size=4, max_length=48, seeds=[0])


@pytest.fixture(scope="module")
def llama():
    return registry.models.get("llama")


def random_lm(tiny_setup, kind: ModelKind, seed: int = 0):
    torch.manual_seed(seed)
    return tiny_setup.model.build_lm(kind, "tiny", tiny_setup.tokenizer).eval()


# --- metrics -----------------------------------------------------------------------------------

def test_squad_normalization_exact_match_and_f1():
    assert normalize_answer("The  Kelor, of Brati!") == "kelor of brati"
    assert exact_match("a kelor", "Kelor .") == 1.0
    assert exact_match("kelor brati", "kelor") == 0.0
    assert token_f1("the big dog", "big red dog") == pytest.approx(0.8)  # P = 2/2, R = 2/3
    assert token_f1("dog dog cat", "dog") == pytest.approx(0.5)  # P = 1/3, R = 1: counts are clipped
    assert token_f1("", "") == 1.0 and token_f1("dog", "") == 0.0 and token_f1("cat", "dog") == 0.0
    assert answer_scores(["kelor", "the brati"], ["kelor", "brati zu"]) == pytest.approx(
        {"exact_match": 0.5, "f1": (1.0 + 2 / 3) / 2})


def test_translation_scores_are_sacrebleus():
    references = ["tuk na pekta .", "pertri dua ziien tuk na mopekta ."]
    hypotheses = ["tuk na pekta .", "pertri dua tuk na pekta ."]
    scores = translation_scores(hypotheses, references)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references]).score)
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hypotheses, [references]).score)
    assert 0 < scores["bleu"] < 100 and 0 < scores["chrf"] < 100
    assert translation_scores(references, references) == pytest.approx(
        {"bleu": 100.0, "chrf": 100.0, "bleu_lc": 100.0, "chrf_lc": 100.0})


# --- zero-shot scoring ---------------------------------------------------------------------------

SENTENCES = ["the dogim near a kat chaseon many birdim .", "a kat is big .", "many birdim see the kat ."]


def _ids(tokenizer):
    return [[tokenizer.eos_token_id, *r] for r in tokenizer(SENTENCES, add_special_tokens=False)["input_ids"]]


def test_log_likelihood_is_the_sum_of_next_token_log_probs(tiny_setup):
    tok = tiny_setup.tokenizer
    for kind in (ModelKind.CAUSAL, ModelKind.PREFIX):
        model = random_lm(tiny_setup, kind)
        scores = zero_shot.sentence_scores(model, SENTENCES, tok, kind, batch_size=2, device=CPU)
        for score, ids in zip(scores, _ids(tok)):
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids])).logits[0]  # one unpadded row: plain causal attention
            slow = sum(F.log_softmax(logits[t - 1], -1)[ids[t]].item() for t in range(1, len(ids)))
            assert score.item() == pytest.approx(slow, abs=1e-4)


def test_pseudo_log_likelihood_masks_one_token_at_a_time(tiny_setup):
    tok = tiny_setup.tokenizer
    model = random_lm(tiny_setup, ModelKind.ENCODER)
    scores = zero_shot.sentence_scores(model, SENTENCES, tok, ModelKind.ENCODER, batch_size=5, device=CPU)
    for score, ids in zip(scores, _ids(tok)):
        slow = 0.0
        for t in range(1, len(ids)):  # the slow way: one forward pass per masked position, bidirectional
            masked = torch.tensor([ids[:t] + [tok.mask_token_id] + ids[t + 1:]])
            everything = torch.ones(1, 1, len(ids), len(ids), dtype=torch.bool)
            with torch.no_grad():
                logits = model(input_ids=masked, attention_mask=everything).logits[0, t]
            slow += F.log_softmax(logits, -1)[ids[t]].item()
        assert score.item() == pytest.approx(slow, abs=1e-4)
    causal = zero_shot.sentence_scores(model, SENTENCES, tok, ModelKind.CAUSAL, batch_size=5, device=CPU)
    assert not torch.allclose(scores, causal)  # PLL is not the left-to-right likelihood


def test_encoder_decoder_scores_each_token_behind_a_sentinel(tiny_setup):
    tok = tiny_setup.tokenizer
    model = random_lm(tiny_setup, ModelKind.ENCODER_DECODER)
    sentinel = tok.convert_tokens_to_ids("<extra_id_0>")
    scores = zero_shot.sentence_scores(model, SENTENCES[:2], tok, ModelKind.ENCODER_DECODER, batch_size=3, device=CPU)
    for score, ids in zip(scores, _ids(tok)):
        slow = 0.0
        for t in range(1, len(ids)):
            inputs = torch.tensor([ids[:t] + [sentinel] + ids[t + 1:]])
            with torch.no_grad():
                logits = model(input_ids=inputs, decoder_input_ids=torch.tensor([[tok.pad_token_id, sentinel]])).logits
            slow += F.log_softmax(logits[0, 1], -1)[ids[t]].item()
        assert score.item() == pytest.approx(slow, abs=1e-4)


# --- decoding and generation batches -------------------------------------------------------------

@pytest.mark.parametrize("kind", [ModelKind.CAUSAL, ModelKind.PREFIX])
def test_cached_greedy_decoding_matches_recomputing_everything(tiny_setup, kind):
    tok = tiny_setup.tokenizer
    model = random_lm(tiny_setup, kind, seed=3)
    sources = ["a kat is big .", "the dogim near a kat chaseon many birdim ."]  # unequal lengths: left padding
    fast = generation.greedy_decode(model, sources, tok, kind, max_length=48, max_new_tokens=6, batch_size=2,
                                    device=CPU, precision="fp32")
    for source, got in zip(sources, fast):
        prompt = generation.prompt_ids(tok(source, add_special_tokens=False)["input_ids"], tok, kind, 48)
        ids = list(prompt)
        for _ in range(6):
            n = len(ids)
            visible = torch.ones(n, n, dtype=torch.bool).tril()
            if kind is ModelKind.PREFIX:
                visible[:, :len(prompt)] = True  # the whole prompt is the prefix
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids]), attention_mask=visible[None, None]).logits[0, -1]
            ids.append(int(logits.argmax()))
            if ids[-1] == tok.eos_token_id:
                break
        expected = ids[len(prompt):]
        assert got == (expected[:-1] if expected[-1] == tok.eos_token_id else expected)


def test_generation_batches_put_loss_on_the_target_only(tiny_setup):
    tok = tiny_setup.tokenizer
    sources, targets = ["a kat is big .", "many birdim see the kat ."], ["tuk na pekta .", "pert ko ."]
    source_ids = tok(sources, add_special_tokens=False)["input_ids"]
    target_ids = tok(targets, add_special_tokens=False)["input_ids"]
    batch = generation.training_batches(sources, targets, tok, ModelKind.PREFIX, 48)(torch.arange(2))
    for row, labels, mask, s, t in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], source_ids,
                                       target_ids):
        prefix = len(s) + 1
        assert row[:prefix].tolist() == [*s, tok.sep_token_id]
        assert labels[labels != IGNORE].tolist() == [*t, tok.eos_token_id]
        assert (labels[:prefix] == IGNORE).all()
        assert mask[0, 0, prefix - 1]  # the first token sees the whole prefix ...
        assert not mask[0, prefix, prefix + 1]  # ... and after the prefix, attention is causal
    seq2seq = generation.training_batches(sources, targets, tok, ModelKind.ENCODER_DECODER, 48)(torch.arange(2))
    assert seq2seq["labels"][0][seq2seq["labels"][0] != IGNORE].tolist() == [*target_ids[0], tok.eos_token_id]
    assert seq2seq["input_ids"][1][seq2seq["attention_mask"][1].bool()].tolist() == [*source_ids[1], tok.eos_token_id]


def test_generated_ids_decode_back_to_words(tiny_setup):
    """Generation metrics compare text: decoding ids must restore the spaces between words."""
    tok = tiny_setup.tokenizer
    text = "the dogim near a kat chaseon many birdim ."
    assert generation.decode_text(tok, tok(text, add_special_tokens=False)["input_ids"]) == text, (
        "the tokenizer drops word boundaries when decoding")


# --- models, probing, skips --------------------------------------------------------------------

def test_span_head_loads_the_pretrained_backbone(tiny_setup, llama, tmp_path):
    lm = random_lm(tiny_setup, ModelKind.ENCODER)
    lm.save_pretrained(tmp_path)
    qa = training.load(AutoModelForQuestionAnswering, llama, tmp_path, tiny_setup, ModelKind.ENCODER)
    backbone = getattr(qa, qa.base_model_prefix)
    for name, weight in lm.model.state_dict().items():
        assert torch.equal(backbone.state_dict()[name], weight), name


@pytest.fixture(scope="module")
def task_splits():
    """Eight training and eight test examples of each synthetic task."""
    out = {}
    for name in SYNTHETIC_TASKS:
        task = registry.tasks.get(name)
        splits = task(task.Params()).load(CorpusConfig())
        out[name] = {split: data.select(range(min(8, len(data)))) for split, data in splits.items()}
    return out


@pytest.mark.parametrize("kind", list(ModelKind))
@pytest.mark.parametrize("name", SYNTHETIC_TASKS)
def test_each_format_builds_finetunes_and_evaluates(name, kind, task_splits, tiny_setup, llama):
    fmt = registry.formats.get(registry.tasks.get(name).format)()
    reason = fmt.unsupported(kind)
    if name == "synthetic_translation" and kind is ModelKind.ENCODER:
        assert reason and "encoder" in reason  # skipped, with a reason the plan shows
        return
    assert reason is None
    splits, tok = task_splits[name], tiny_setup.tokenizer
    torch.manual_seed(0)
    model = fmt.build(llama, None, tiny_setup, splits["train"], kind)
    if fmt.finetunes:
        stats = fmt.finetune(model, splits["train"], tok, RECIPE, kind, 0, CPU, "fp32")
        assert stats["steps"] == math.ceil(stats["examples"] / RECIPE.batch_size) > 0 and stats["mode"] == "full"
    metrics, stats = fmt.evaluate(model, splits["test"], tok, RECIPE, kind, CPU, "fp32")
    companion = metrics.pop(fmt.companion_metric.name)
    assert fmt.primary_metric.name in metrics and all(math.isfinite(v) for v in metrics.values())
    if name == "synthetic_closed_qa" and kind is ModelKind.ENCODER:
        assert companion is None  # it classifies over answers: no per-token likelihood of an answer text
    else:
        assert isinstance(companion, float) and math.isfinite(companion)
        assert companion <= 0 or fmt.companion_metric.name == "logprob_margin"  # a log-probability, not a margin
    assert stats["examples"] == len(splits["test"])


@pytest.mark.parametrize("name", ["synthetic_sentiment", "synthetic_extractive_qa", "synthetic_translation",
                                  "synthetic_closed_qa"])
def test_linear_probe_trains_only_the_head(name, task_splits, tiny_setup, llama):
    fmt = registry.formats.get(registry.tasks.get(name).format)()
    kind = ModelKind.CAUSAL
    torch.manual_seed(0)
    model = fmt.build(llama, None, tiny_setup, task_splits[name]["train"], kind)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe = RECIPE.model_copy(update={"mode": "linear_probe", "lr": 1e-2})
    stats = fmt.finetune(model, task_splits[name]["train"], tiny_setup.tokenizer, probe, kind, 0, CPU, "fp32")
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    head = {"synthetic_sentiment": "score.", "synthetic_extractive_qa": "qa_outputs.",
            "synthetic_translation": "lm_head.", "synthetic_closed_qa": "lm_head."}[name]
    assert changed and all(k.startswith(head) for k in changed), changed
    assert stats["mode"] == "linear_probe" and 0 < stats["trained_parameters"] < sum(p.numel() for p in model.parameters())
    if head == "lm_head.":  # untied: the input embeddings stayed as they were
        assert torch.equal(model.get_input_embeddings().weight, before["model.embed_tokens.weight"])


def test_plan_skips_unfitting_kinds_with_a_reason_and_scores_zero_shot_once(tmp_path, tiny_data):
    from benchmark.config import validate_suite
    from benchmark.plan import make_plan

    raw = tiny_raw(tmp_path, tasks=["synthetic_translation", "synthetic_minimal_pairs"], task_params={})
    raw["finetune"] = {**raw["finetune"], "seeds": [0, 1]}
    plan = make_plan(validate_suite(raw), tiny_data)
    skipped = dict(plan.skipped)
    assert set(skipped) == {"llama/mlm/synthetic_translation", "llama/none/synthetic_translation"}
    assert all("encoder" in reason and "generat" in reason for reason in skipped.values())
    runs = {(r.job.objective, r.task, r.seed) for r in plan.runs}
    assert ("clm", "synthetic_translation", 1) in runs
    assert {seed for objective, task, seed in runs if task == "synthetic_minimal_pairs"} == {0}


@pytest.mark.slow
def test_harness_records_zero_shot_without_finetuning(tmp_path):
    from benchmark.config import validate_suite
    from benchmark.harness import run_suite
    from benchmark.results import to_dataframe

    suite = validate_suite(tiny_raw(
        tmp_path, objectives=["none", "clm"], tasks=["synthetic_minimal_pairs", "synthetic_closed_qa"],
        task_params={"synthetic_minimal_pairs": {"test_size": 8},
                     "synthetic_closed_qa": {"train_size": 16, "test_size": 10}}))
    assert run_suite(suite, progress=False).ran == 4
    df = to_dataframe(suite.results_dir, suite.name).set_index(["objective", "task"])
    zero_shot_runs = df.xs("synthetic_minimal_pairs", level="task")
    assert zero_shot_runs["finetune_mode"].isna().all() and (zero_shot_runs["finetune.steps"] == 0).all()
    assert zero_shot_runs["metrics.accuracy"].between(0, 1).all()
    finetuned = df.xs("synthetic_closed_qa", level="task")
    assert (finetuned["finetune_mode"] == "full").all() and (finetuned["finetune.steps"] > 0).all()
    assert finetuned["metrics.exact_match"].between(0, 1).all()
