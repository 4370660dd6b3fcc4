"""Published findings checked against runs: the registry, the four verdicts, compute notes, rendering."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from benchmark import registry
from benchmark.report.claim_compute import compute_note
from benchmark.report.claims import check_claims, is_final
from benchmark.report.claims_section import TITLE, claims_html, claims_markdown
from benchmark.report.moderation import NoisePrior
from benchmark.report.noise import TaskNoise
from benchmark.report.published_claims import CLAIMS
from tests.report_fixtures import moderated_half_width

F1 = {"name": "f1_macro", "higher_is_better": True, "max_value": 1.0}
LOSS_LIKE = {"name": "error_rate", "higher_is_better": False, "max_value": 1.0}
CHRF = {"name": "chrf", "higher_is_better": True, "max_value": 100.0}
ELECTRA_SMALL = next(c for c in CLAIMS if c.name == "electra_small_over_bert_small")
# The ELECTRA-Small claim as if it were about one task (it is about GLUE's average, which needs two): the verdict
# logic on one task's runs
ONE_TASK = [replace(ELECTRA_SMALL, average=False)]


def run(objective: str, task: str, pretrain_seed: int, finetune_seed: int, value: float, *,
        task_format: str = "classification", metric: dict = F1, flops: float | None = 2e12,
        model: str = "llama", **extra) -> dict:
    """The fields of a run record that the claim checks read."""
    return {"model": model, "objective": objective, "task": task, "task_format": task_format,
            "primary_metric": dict(metric), "metrics": {metric["name"]: value},
            "pretrain_seed": pretrain_seed, "finetune_seed": finetune_seed,
            "pretrain": {"flops": flops} if flops is not None else None, **extra}


def runs(objective: str, task: str, values: list[float], **options) -> list[dict]:
    """One run per pretraining seed 0, 1, 2, ... (finetuning seed 0)."""
    return [run(objective, task, seed, 0, value, **options) for seed, value in enumerate(values)]


def only(checks, name: str):
    found = [c for c in checks if c.claim.name == name]
    assert len(found) == 1, [c.claim.name for c in checks]
    return found[0]


# --- the registry --------------------------------------------------------------------------------

def test_registry_names_objectives_formats_sources_and_compute():
    assert len(CLAIMS) >= 6
    assert len({c.name for c in CLAIMS}) == len(CLAIMS)
    objectives, formats = set(registry.objectives.names()), set(registry.formats.names())
    for claim in CLAIMS:
        arms = [getattr(arm, "objective", arm) for arm in claim.objectives]
        assert set(arms) <= objectives and claim.better != claim.worse, claim.name
        for arm in claim.objectives:  # a configuration is named by a setting its objective has
            if not isinstance(arm, str):
                assert arm.default == registry.objectives.get(arm.objective).Params.model_fields[arm.setting].default
        assert claim.family in formats, claim.name
        assert claim.source and claim.finding and claim.flops_note, claim.name
        low, high = claim.flops
        assert 0 < low <= high, claim.name
        # a quantitative claim quotes two numbers; a qualitative one says it is
        assert claim.qualitative or sum(ch.isdigit() for ch in claim.figures) >= 4, claim.name
    for paper in ("T5", "ELECTRA", "BART", "BERT", "Wang et al. 2022"):
        assert any(paper in c.source for c in CLAIMS), paper
    assert ELECTRA_SMALL.flops == (1.4e18, 1.4e18) and "79.9" in ELECTRA_SMALL.figures
    # Wang et al.: the ranking flips between zero-shot and finetuned use
    wang = [c for c in CLAIMS if "Wang" in c.source]
    assert {(c.better, c.family) for c in wang} >= {("clm", "zero_shot"), ("span_corruption", "classification")}


# --- the four verdicts -------------------------------------------------------------------------

def test_runs_that_follow_the_claim_agree():
    records = (runs("electra", "topic", [0.80, 0.82, 0.81]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
               + runs("electra", "sentiment", [0.61, 0.60, 0.62]) + runs("mlm", "sentiment", [0.55, 0.56, 0.55]))
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "agrees"
    assert check.tasks == ("sentiment", "topic")
    # pooled over both tasks: per seed ((0.80-0.70) + (0.61-0.55)) / 2 = 0.08, then 0.075, 0.08
    assert check.difference == pytest.approx((0.08 + 0.075 + 0.08) / 3)
    assert 0 < check.ci_low < check.difference < check.ci_high
    assert (check.pairs, check.pretrain_seeds) == (3, 3)
    assert [t.direction for t in check.per_task] == ["better", "better"]
    assert check.interval_text.startswith("+0.078 [+")
    data = json.loads(json.dumps(check.to_dict()))
    assert data["verdict"] == "agrees" and data["per_task"][0]["direction"] == "better"


def test_runs_that_reverse_the_claim_contradict():
    records = runs("electra", "topic", [0.60, 0.62, 0.61]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "contradicts"
    assert check.ci_high < 0
    assert check.per_task[0].direction == "worse"


def test_noisy_runs_leave_the_claim_undecided():
    # paired differences +0.10, -0.08, +0.05: the interval over three pretraining seeds straddles 0
    records = runs("electra", "topic", [0.80, 0.63, 0.77]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "undecided"
    assert check.ci_low < 0 < check.ci_high
    assert "includes 0" in check.reason


def test_runs_the_same_within_the_tolerance_are_equivalent():
    # paired differences +0.002, -0.001, 0: mean 0.00033, std 0.0015275, half 4.303 * 0.0015275 / sqrt(3) = 0.0038,
    # inside +-0.02 (2% of the 0-1 scale): the claimed difference does not show at this budget
    records = runs("electra", "topic", [0.702, 0.709, 0.72]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "contradicts" and check.reason.startswith("equivalent: ")
    assert -0.02 <= check.ci_low < 0 < check.ci_high <= 0.02
    assert check.ci_high == pytest.approx(0.001 / 3 + 4.302653 * math.sqrt(7e-6 / 3) / math.sqrt(3))
    assert "the interval lies within ±0.02 of 0 on the 0-1 scale" in check.reason
    assert check.per_task[0].direction == "equivalent"  # in f1 points, with the same tolerance of 0.02


def test_the_tasks_noise_priors_narrow_the_interval():
    """Paired differences +0.05, +0.02, +0.08 (std 0.03): on their own 2 degrees of freedom the interval is
    0.05 -+ 4.303 * 0.03 / sqrt(3) = [-0.025, +0.125], undecided; with the leaderboard's prior for the task's
    differences (sd 0.01, worth 50 degrees of freedom) it is moderated to about [+0.037, +0.063]: agrees."""
    records = runs("electra", "topic", [0.75, 0.73, 0.80]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    alone = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert alone.verdict == "undecided" and alone.ci_low < 0 < alone.ci_high
    assert "pretraining seeds would decide it (power estimate)" in alone.reason
    prior = NoisePrior(variance=1e-4, dof=50)
    priors = {"topic": TaskNoise(cell=NoisePrior(variance=5e-5, dof=50), difference=prior)}
    check = only(check_claims(records, ONE_TASK, priors=priors), "electra_small_over_bert_small")
    half = moderated_half_width(prior, 0.03**2, 3)
    assert check.verdict == "agrees"
    assert (check.ci_low, check.ci_high) == pytest.approx((0.05 - half, 0.05 + half))
    assert check.per_task[0].paired.difference.dof == pytest.approx(52)  # per task too, in the metric's units


def test_one_pretraining_seed_is_undecided_without_an_interval():
    records = [run("electra", "topic", 0, f, 0.9) for f in range(3)] + [run("mlm", "topic", 0, f, 0.5)
                                                                         for f in range(3)]
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "undecided" and check.ci_low is None
    assert "one pretraining run" in check.reason
    assert check.difference == pytest.approx(0.4)


def test_a_lower_is_better_metric_is_turned_the_right_way():
    records = runs("electra", "topic", [0.20, 0.18, 0.19], metric=LOSS_LIKE) + runs(
        "mlm", "topic", [0.30, 0.29, 0.31], metric=LOSS_LIKE)
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "agrees" and check.difference == pytest.approx(0.11)
    assert check.per_task[0].direction == "better"  # lower error: the claim's way
    assert check.per_task[0].paired.difference.mean == pytest.approx(-0.11)  # in the metric's own units


def test_tasks_on_other_scales_are_normalised_before_pooling_and_seeds_must_cover_every_task():
    claim = next(c for c in CLAIMS if c.family == "classification")
    records = (runs(claim.better, "a", [0.60, 0.61, 0.62]) + runs(claim.worse, "a", [0.50, 0.51, 0.52])
               + runs(claim.better, "b", [40.0, 41.0], metric=CHRF) + runs(claim.worse, "b", [50.0, 51.0], metric=CHRF))
    check = only(check_claims(records, [claim]), claim.name)
    # on 0-1: +0.10 on a, -0.10 on b, averaged: 0; pretraining seed 2 ran only task a and is left out
    assert check.pairs == 2 and check.difference == pytest.approx(0.0)
    # 0 on both pretraining seeds: a zero-width interval at 0 (no prior given), inside +-0.02: the same
    assert (check.ci_low, check.ci_high) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert check.verdict == "indicative: contradicts" and claim.mismatch in check.reason  # T5 ran one architecture
    # per task, in each metric's own units: +0.10 f1 on a, -10 chrF on b
    assert [t.paired.difference.mean for t in check.per_task] == pytest.approx([0.10, -10.0])


# --- which records and claims take part -------------------------------------------------------

def test_only_final_rung_records_count():
    final = runs("electra", "topic", [0.80, 0.82, 0.81], rung=1.0) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    early = runs("electra", "topic", [0.10, 0.12, 0.11], rung=0.25) + runs("mlm", "topic", [0.9, 0.9, 0.9],
                                                                            rung=0.25)
    assert is_final({"rung": None}) and is_final({}) and is_final({"rung": 1}) and not is_final({"rung": 0.5})
    assert only(check_claims(final + early, ONE_TASK), "electra_small_over_bert_small").verdict == "agrees"
    assert check_claims(early) == []


def test_claims_whose_objectives_or_family_did_not_run_are_left_out():
    records = runs("mlm", "topic", [0.8, 0.8, 0.8]) + runs("clm", "topic", [0.7, 0.7, 0.7])
    checks = check_claims(records)
    assert [c.claim.name for c in checks] == ["bert_over_gpt_glue"]  # the only mlm-vs-clm claim on classification
    # the same objectives on another format: no claim of that format names them
    zero_shot = runs("mlm", "pairs", [0.6] * 3, task_format="zero_shot") + runs("clm", "pairs", [0.7] * 3,
                                                                               task_format="zero_shot")
    assert check_claims(zero_shot) == []
    assert check_claims([]) == []


def test_each_model_is_checked_apart():
    records = (runs("electra", "topic", [0.8, 0.82, 0.81]) + runs("mlm", "topic", [0.7, 0.71, 0.72])
               + runs("electra", "topic", [0.6, 0.62, 0.61], model="other") + runs("mlm", "topic", [0.7, 0.71, 0.72],
                                                                                   model="other"))
    checks = check_claims(records, ONE_TASK)
    assert {(c.model, c.verdict) for c in checks} == {("llama", "agrees"), ("other", "contradicts")}


# --- compute ---------------------------------------------------------------------------------

def test_a_claim_tested_far_below_its_compute_says_so():
    records = runs("electra", "topic", [0.8, 0.82, 0.81], flops=2e12) + runs("mlm", "topic", [0.7, 0.71, 0.72],
                                                                               flops=2.05e12)
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.tested_flops == (2e12, 2.05e12)
    assert check.compute_note.startswith("observed at 1.4e18 FLOPs, tested at 2e12")
    assert "less compute" in check.compute_note
    assert compute_note(ELECTRA_SMALL, (1e18, 1.5e18)) is None  # within a factor of ten: nothing to say
    assert "more compute" in compute_note(ELECTRA_SMALL, (2e19, 2e19))
    assert compute_note(ELECTRA_SMALL, None) is None


def test_runs_without_pretraining_flops_have_no_tested_compute():
    records = runs("electra", "topic", [0.8, 0.82, 0.81], flops=None) + runs("mlm", "topic", [0.7, 0.71, 0.72],
                                                                               flops=None)
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.tested_flops is None and check.compute_note is None


# --- rendering --------------------------------------------------------------------------------

def test_section_renders_as_markdown_and_html():
    records = [{**r, "task": task} for task in ("topic", "sentiment") for r in
               runs("electra", "topic", [0.80, 0.82, 0.81]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
               + runs("clm", "topic", [0.70, 0.63, 0.77])]
    checks = check_claims(records)
    text = claims_markdown(checks)
    assert text.startswith(f"## {TITLE}")
    assert "| claim | source | objectives | family | observed at | tested at | verdict |" in text
    assert "electra &gt; mlm" in text and "Clark et al. 2020 (ELECTRA), Table 1" in text
    assert "agrees: +0." in text and "undecided: " in text and "1.4e18 FLOPs" in text
    page = claims_html(checks)
    assert f"<h2>{TITLE}</h2>" in page and '<table class="sortable" id="claims">' in page
    assert "electra &gt; mlm" in page and page.count("<tr>") == len(checks) + 1
    assert "No published claim can be tested" in claims_markdown([])


def test_real_records_are_checked():
    from tests.report_fixtures import make_record

    records = [make_record(objective, "synthetic_topic", seed, 0, value)
               for objective, values in (("electra", (0.8, 0.82, 0.81)), ("mlm", (0.7, 0.71, 0.72)))
               for seed, value in enumerate(values)]
    check = only(check_claims(records, ONE_TASK), "electra_small_over_bert_small")
    assert check.verdict == "agrees"
    assert check.tested_flops is not None and math.isfinite(check.tested_flops[0])
    assert check.compute_note is not None  # a tiny suite is far below 1.4e18 FLOPs


def test_estimated_compute_is_explained_under_the_table():
    records = runs("mlm", "topic", [0.8, 0.81, 0.8]) + runs("clm", "topic", [0.7, 0.7, 0.72])
    text = claims_markdown(check_claims(records))
    assert "2.8e19-8.6e19 FLOPs (estimate)" in text
    assert "> Observed compute 2.8e19-8.6e19 FLOPs, estimate: 6 x N x D" in text
    assert "6 x 1.1e8 x 1.31e11 = 8.6e19" in text  # BERT-Base: 1M steps of 256 sequences of 512 tokens
    assert not ELECTRA_SMALL.flops_estimated and all(c.flops_estimated for c in CLAIMS if "Wang" in c.source)


# --- what a suite can test ------------------------------------------------------------------

def test_a_benchmark_average_claim_on_one_task_is_not_testable_here():
    records = runs("electra", "topic", [0.80, 0.82, 0.81]) + runs("mlm", "topic", [0.70, 0.71, 0.72])
    check = only(check_claims(records), "electra_small_over_bert_small")
    assert check.verdict == "not testable here" and check.difference is None
    assert "needs 2 or more unsaturated classification tasks; this suite has 1" in check.reason


def test_saturated_tasks_are_left_out_and_a_claim_left_with_too_few_is_not_testable():
    """Both objectives within 0.02 of the ceiling on every seed: the task tells nothing, as entity typing at
    1.000 told nothing of GLUE. Two open tasks beside it test the claim on those two alone."""
    ceiling = runs("electra", "ceiling", [1.0, 0.99, 1.0]) + runs("mlm", "ceiling", [1.0, 1.0, 0.985])
    open_ = [{**r, "task": task} for task in ("topic", "sentiment")
             for r in runs("electra", "x", [0.80, 0.82, 0.81]) + runs("mlm", "x", [0.70, 0.71, 0.72])]
    alone = only(check_claims(ceiling), "electra_small_over_bert_small")
    assert alone.verdict == "not testable here" and "ceiling saturated" in alone.reason
    assert "a larger test set, fewer finetuning steps or a harder variant" in alone.reason
    single = only(check_claims(ceiling, ONE_TASK), "electra_small_over_bert_small")
    assert single.verdict == "not testable here" and "every classification task of this suite is saturated" in \
        single.reason
    check = only(check_claims(ceiling + open_), "electra_small_over_bert_small")
    assert check.verdict == "agrees" and check.tasks == ("sentiment", "topic")


def test_a_claim_tested_on_another_design_is_only_indicative():
    """T5 Table 2 compares architectures at equal parameters; here span corruption's encoder-decoder has
    about twice the decoder's: the verdict says so rather than plainly agreeing."""
    records = (runs("span_corruption", "squad", [0.40, 0.42, 0.41], task_format="extractive_qa")
               + runs("prefix_lm", "squad", [0.30, 0.31, 0.32], task_format="extractive_qa"))
    check = only(check_claims(records), "t5_denoising_over_lm_squad")
    assert check.verdict == "indicative: agrees" and "twice the decoder's parameters" in check.reason
    plain = only(check_claims(records, [replace(check.claim, mismatch=None)]), check.claim.name)
    assert plain.verdict == "agrees"


def test_every_claim_says_whether_it_is_about_an_average_and_how_its_design_differs():
    assert {c.name for c in CLAIMS if c.average} >= {"t5_bert_style_over_prefix_lm_glue", "bert_over_gpt_glue"}
    assert not any(c.average for c in CLAIMS if c.family == "extractive_qa")  # SQuAD is one task
    for name in ("wang_masked_best_after_finetuning", "t5_denoising_over_lm_glue"):
        assert next(c for c in CLAIMS if c.name == name).mismatch


# --- configurations, model size and repeated data ------------------------------------------------

GPT_BERT = next(c for c in CLAIMS if c.name == "babylm_gpt_bert_causal_focus_over_masked_focus")
MTP = next(c for c in CLAIMS if c.name == "gloeckle_mtp_trails_next_token_at_small_sizes")
DIFFUSION = next(c for c in CLAIMS if c.name == "prabhudesai_diffusion_over_ar_on_repeated_data")
PAIRS = {"task_format": "zero_shot", "metric": {"name": "accuracy", "higher_is_better": True, "max_value": 1.0}}


def test_a_configuration_is_found_among_the_variants_by_its_setting():
    variants = {"causal_heavy": {"objective": "gpt_bert", "causal_fraction": 0.9},
                "masked_heavy": {"objective": "gpt_bert", "causal_fraction": 0.1}}

    def variant(name, values):
        params = {k: v for k, v in variants.get(name, {}).items() if k != "objective"}
        return runs(name, "pairs", values, config={"variants": variants}, objective_params=params, **PAIRS)

    records = variant("causal_heavy", [0.70, 0.72, 0.71]) + variant("masked_heavy", [0.60, 0.61, 0.62])
    check = only(check_claims(records, [GPT_BERT]), GPT_BERT.name)
    assert (check.claim.better, check.claim.worse) == ("causal_heavy", "masked_heavy")
    assert check.verdict == "agrees"
    # gpt_bert itself runs its default, 1 causal row in 16: masked-focus
    plain = variant("causal_heavy", [0.70, 0.72, 0.71]) + variant("gpt_bert", [0.75, 0.76, 0.77])
    check = only(check_claims(plain, [GPT_BERT]), GPT_BERT.name)
    assert check.claim.worse == "gpt_bert" and check.verdict == "contradicts"
    # two causal-focus variants and no masked one: nothing to compare
    assert check_claims(variant("causal_heavy", [0.7] * 3), [GPT_BERT]) == []


def test_a_claim_about_model_size_is_checked_as_a_trend_across_sizes():
    def sized(objective, size, values):
        return runs(objective, "pairs", values, model=f"llama-{size}", family="llama", size=size,
                    config={"size": ["tiny", "small"]}, **PAIRS)

    # clm leads by 0.10 at tiny and trails by 0.05 at small: the lead shrinks, as the paper reports
    records = (sized("clm", "tiny", [0.70, 0.71, 0.72]) + sized("mtp", "tiny", [0.60, 0.61, 0.62])
               + sized("clm", "small", [0.75, 0.76, 0.77]) + sized("mtp", "small", [0.80, 0.81, 0.815]))
    [check] = check_claims(records, [MTP])
    assert check.model == "llama (llama-tiny to llama-small)"
    assert check.verdict == "indicative: agrees" and check.difference == pytest.approx(0.15, abs=0.01)
    # the same lead at both sizes: no trend
    flat = (sized("clm", "tiny", [0.70, 0.71, 0.72]) + sized("mtp", "tiny", [0.60, 0.61, 0.62])
            + sized("clm", "small", [0.80, 0.81, 0.82]) + sized("mtp", "small", [0.70, 0.71, 0.72]))
    assert check_claims(flat, [MTP])[0].verdict == "indicative: contradicts"
    # one size: the ordering at small sizes, said to be only that
    [one] = check_claims(runs("clm", "pairs", [0.70, 0.71, 0.72], **PAIRS)
                         + runs("mtp", "pairs", [0.60, 0.61, 0.62], **PAIRS), [MTP])
    assert one.verdict == "indicative: agrees" and "one size" in one.reason


def test_a_claim_about_repeated_data_needs_runs_that_repeated_it():
    records = (runs("masked_diffusion", "pairs", [0.70, 0.71, 0.72], **PAIRS)
               + runs("clm", "pairs", [0.60, 0.61, 0.62], **PAIRS))
    for record in records:
        record["pretrain"]["epochs_over_data"] = 1.5
    [check] = check_claims(records, [DIFFUSION])
    assert check.verdict == "not testable here" and "1.5 times" in check.reason and check.epochs == (1.5, 1.5)
    for record in records:
        record["pretrain"]["epochs_over_data"] = 12.0 if record["objective"] == "clm" else 20.0
    [check] = check_claims(records, [DIFFUSION])
    assert check.verdict == "indicative: agrees" and "12.0-20.0 times" in check.reason
    for record in records:
        del record["pretrain"]["epochs_over_data"]
    assert "do not say" in check_claims(records, [DIFFUSION])[0].reason
