"""The orderings published comparisons reported between objectives, as data: who beat whom, where, at what compute.

``CLAIMS`` lists orderings the published comparisons reported (T5, ELECTRA, BART, BERT vs GPT,
Wang et al. 2022; see the protocol notes), each as "objective A beats objective B on tasks of
one format", with the paper's own figures and the pretraining compute it was seen at.
claims.py checks them against a suite's runs.
"""

from __future__ import annotations

from dataclasses import dataclass

# Compute estimates shared by several claims (6 x parameters x tokens, Kaplan et al. 2020's rule).
_T5_BASE = (2.3e19, 4.5e19)
_T5_BASE_NOTE = ("estimate: 6 x N x D with D = 2^19 steps x 128 x 512 = 2^35 = 3.4e10 tokens (T5 sec. 3.1) and "
                 "N from 1.1e8 (each token passes one stack of the 220M-parameter T5-Base) to 2.2e8 (all of it)")
_BERT_BASE = (2.8e19, 8.6e19)
_BERT_BASE_NOTE = ("estimate: 6 x N x D with N = 1.1e8 (BERT-Base) and D from 4.3e10 tokens (1M steps of 256 "
                   "sequences, 90% of them at length 128, BERT sec. A.2) to 1.31e11 (all at length 512): "
                   "6 x 1.1e8 x 1.31e11 = 8.6e19")
_WANG = (5.1e21, 5.1e21)
_WANG_NOTE = ("estimate: 6 x N x D with the abstract's 'over 5 billion parameters for more than 170 billion "
              "tokens'; a lower bound")

# How the design tested here differs from a paper's: its claims are only indicative here.
_T4 = ("architecture: T5 ran both objectives on one encoder-decoder; here each runs on the architecture "
       "it needs, at the same FLOPs")
_T2 = ("size: T5's Table 2 compares architectures at equal parameters or equal compute per token; here "
       "the encoder-decoder has about twice the decoder's parameters, at the same FLOPs")
_WZ = ("zero-shot setting: Wang et al. scored prompted held-out tasks; here zero-shot is the likelihood "
       "of minimal pairs")
_MTP = ("benchmark: Gloeckle et al. scored generated code (pass@k on MBPP and HumanEval); here the pretrained "
        "model scores minimal pairs by likelihood, the zero-shot use objbench has")
_BABYLM = ("estimate: 6 x N x D with N = 3.1e7 (the baselines' 31M parameters) and D = 1e8-1.5e8 tokens (100M "
           "words, 10M unique, at 1-1.5 tokens per word)")
_DIFFUSION = ("evaluation: Prabhudesai et al. compared validation loss and downstream accuracy; here zero-shot minimal "
              "pairs, scored by the diffusion model's ELBO (a lower bound) against the causal model's exact "
              "log-likelihood")
# Muennighoff et al. 2023: up to about 4 epochs, repeated data is worth nearly as much as new data to an
# autoregressive model; the repeated-data claim is about the regime beyond it.
_REPEATED_EPOCHS = 4.0
_WF = ("multitask vs single task: Wang et al. finetuned on a multitask prompted mixture and scored "
       "held-out tasks zero-shot; here each task is finetuned on itself")


@dataclass(frozen=True)
class Focus:
    """A published configuration of one objective, named by one of its settings: the runs of ``objective`` whose
    ``setting`` is above ``above`` or below ``below`` (GPT-BERT's "causal focus": most rows causal). A suite runs
    such a configuration as a variant; ``label`` is how tables name it, ``default`` the setting where a run
    leaves it (the objective's own default: a test holds them equal)."""

    objective: str
    setting: str
    label: str
    default: float
    above: float | None = None
    below: float | None = None

    def holds(self, value: float) -> bool:
        return (self.above is None or value > self.above) and (self.below is None or value < self.below)

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Claim:
    """One published ordering: ``better`` beat ``worse`` on tasks of format ``family``.

    ``better`` and ``worse`` are objbench objective names, ``family`` a task format name;
    ``mapping`` says how the paper's setups correspond to objbench's objectives where they
    differ (architecture, data). ``figures`` quotes the paper's numbers; ``None`` marks a
    qualitative finding. ``flops`` is the (low, high) pretraining compute the ordering was
    observed at, per model, and ``flops_note`` where it comes from: the paper's own figure, or
    'estimate: ' and how it was derived. ``average`` marks a claim about an average over a
    benchmark's tasks (GLUE): one task cannot test it. ``mismatch`` states how the design it is
    tested on here differs from the paper's (architecture or size, multitask vs single-task
    finetuning, the zero-shot setting): its verdict is then only indicative.

    ``better`` or ``worse`` may be a :class:`Focus`: one configuration of an objective, matched in
    the runs by its setting. ``trend`` marks a claim about model size: ``better`` leads at small
    sizes and the lead shrinks as models grow; on a suite with two or more sizes of one family it is
    checked as that trend, on one size as the ordering at small sizes. ``min_epochs`` marks a claim
    about repeated data: it is tested only where both objectives' runs saw the corpus that many
    times or more.
    """

    name: str
    better: str | Focus
    worse: str | Focus
    family: str
    source: str
    finding: str
    figures: str | None
    flops: tuple[float, float]
    flops_note: str
    mapping: str = ""
    average: bool = False
    mismatch: str | None = None
    trend: bool = False
    min_epochs: float | None = None

    @property
    def qualitative(self) -> bool:
        return self.figures is None

    @property
    def flops_estimated(self) -> bool:
        """The compute was derived (``flops_note`` begins 'estimate:'), not printed in the paper."""
        return self.flops_note.startswith("estimate:")

    @property
    def objectives(self) -> tuple[str, str]:
        return self.better, self.worse


CLAIMS: tuple[Claim, ...] = (
    Claim("t5_bert_style_over_prefix_lm_glue", "mlm", "prefix_lm", "classification",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats prefix language modelling after finetuning on GLUE",
          "GLUE average 82.96 (BERT-style) vs 80.69 (prefix LM)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder, prefix_lm a "
          "non-causal decoder",
          average=True, mismatch=_T4),
    Claim("t5_bert_style_over_prefix_lm_squad", "mlm", "prefix_lm", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats prefix language modelling after finetuning on SQuAD",
          "SQuAD EM 80.65 (BERT-style) vs 77.99 (prefix LM)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder, prefix_lm a "
          "non-causal decoder",
          mismatch=_T4),
    Claim("t5_prefix_lm_over_deshuffling_glue", "prefix_lm", "deshuffle", "classification",
          "Raffel et al. 2020 (T5), Table 4",
          "Prefix language modelling beats deshuffling after finetuning on GLUE",
          "GLUE average 80.69 (prefix LM) vs 73.17 (deshuffling)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's prefix_lm is a non-causal decoder",
          average=True, mismatch=_T4),
    Claim("t5_bert_style_over_deshuffling_squad", "mlm", "deshuffle", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats deshuffling after finetuning on SQuAD",
          "SQuAD EM 80.65 (BERT-style) vs 67.61 (deshuffling)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder",
          mismatch=_T4),
    Claim("t5_denoising_over_lm_glue", "span_corruption", "prefix_lm", "classification",
          "Raffel et al. 2020 (T5), Table 2",
          "A denoising objective beats a language-modelling objective after finetuning on GLUE",
          "GLUE average 83.28 (encoder-decoder, denoising) vs 79.56 (encoder-decoder, LM objective)",
          _T5_BASE, _T5_BASE_NOTE,
          "T5's LM objective on an encoder-decoder is a prefix split; objbench's prefix_lm runs it on a "
          "non-causal decoder. T5 found denoising ahead in every architecture it tried",
          average=True, mismatch=_T2),
    Claim("t5_denoising_over_lm_squad", "span_corruption", "prefix_lm", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 2",
          "A denoising objective beats a language-modelling objective after finetuning on SQuAD",
          "SQuAD EM 80.88 (encoder-decoder, denoising) vs 76.02 (encoder-decoder, LM objective)",
          _T5_BASE, _T5_BASE_NOTE,
          "T5's LM objective on an encoder-decoder is a prefix split; objbench's prefix_lm runs it on a "
          "non-causal decoder",
          mismatch=_T2),
    Claim("electra_small_over_bert_small", "electra", "mlm", "classification",
          "Clark et al. 2020 (ELECTRA), Table 1",
          "Replaced-token detection beats masked LM at equal pretraining FLOPs, generator counted",
          "GLUE dev 79.9 (ELECTRA-Small) vs 75.1 (BERT-Small), 14M parameters each", (1.4e18, 1.4e18),
          "the paper's figure: 1.4e18 training FLOPs for both models (Table 1)",
          average=True),
    Claim("electra_all_tokens_mlm_over_bert", "all_tokens_mlm", "mlm", "classification",
          "Clark et al. 2020 (ELECTRA), sec. 3.5 efficiency analysis",
          "A loss on every token, not only the masked 15%, is where most of ELECTRA's gain comes from",
          "GLUE 84.3 (all-tokens MLM) vs 82.2 (BERT)", _BERT_BASE,
          _BERT_BASE_NOTE + "; the analysis used base-sized models, assumed here on a BERT-Base-like schedule",
          average=True),
    Claim("electra_over_all_tokens_mlm", "electra", "all_tokens_mlm", "classification",
          "Clark et al. 2020 (ELECTRA), sec. 3.5 efficiency analysis",
          "Replaced-token detection beats all-tokens MLM",
          "GLUE 85.0 (ELECTRA) vs 84.3 (all-tokens MLM)", _BERT_BASE,
          _BERT_BASE_NOTE + "; the analysis used base-sized models, assumed here on a BERT-Base-like schedule",
          average=True),
    Claim("bart_infilling_over_lm_squad", "denoising", "clm", "extractive_qa",
          "Lewis et al. 2020 (BART), Table 1",
          "Text infilling beats left-to-right language modelling after finetuning on SQuAD",
          "SQuAD 1.1 F1 90.8 (text infilling) vs 76.7 (language model)", _BERT_BASE,
          _BERT_BASE_NOTE + "; BART's comparison models were base-sized, assumed here on a BERT-Base-like schedule",
          "objbench's denoising is BART's final recipe (text infilling + sentence permutation) on an "
          "encoder-decoder; BART's language model is a causal decoder, as objbench's clm"),
    Claim("bert_over_gpt_glue", "mlm", "clm", "classification",
          "Devlin et al. 2019 (BERT), Table 1",
          "Bidirectional masked LM beats left-to-right LM after finetuning on GLUE",
          "GLUE test average 79.6 (BERT-Base) vs 75.1 (OpenAI GPT)", _BERT_BASE, _BERT_BASE_NOTE + " (BERT-Base)",
          "sized alike, but data (BooksCorpus + Wikipedia vs BooksCorpus) and steps differ: a looser comparison "
          "than T5's or ELECTRA's",
          average=True),
    Claim("wang_causal_best_zero_shot_vs_span_corruption", "clm", "span_corruption", "zero_shot",
          "Wang et al. 2022, sec. 4 (without multitask finetuning)",
          "Right after pretraining, a causal decoder with full language modelling generalises best zero-shot",
          None, _WANG, _WANG_NOTE,
          "Wang et al.'s masked objective is T5's span corruption on an encoder-decoder, as objbench's",
          average=True, mismatch=_WZ),
    Claim("wang_causal_best_zero_shot_vs_prefix_lm", "clm", "prefix_lm", "zero_shot",
          "Wang et al. 2022, sec. 4 (without multitask finetuning)",
          "Right after pretraining, full language modelling on a causal decoder beats a non-causal decoder's "
          "prefix LM zero-shot",
          None, _WANG, _WANG_NOTE,
          average=True, mismatch=_WZ),
    Claim("wang_masked_best_after_finetuning", "span_corruption", "clm", "classification",
          "Wang et al. 2022, sec. 4 (after multitask finetuning)",
          "After finetuning, a masked objective with non-causal visibility beats a causal decoder's language "
          "modelling: the zero-shot ranking flips",
          None, _WANG, _WANG_NOTE,
          "Wang et al. finetuned on a multitask prompted mixture and evaluated held-out tasks zero-shot; "
          "objbench finetunes on each task itself, the nearest test it has",
          average=True, mismatch=_WF),
    Claim("babylm_gpt_bert_causal_focus_over_masked_focus",
          Focus("gpt_bert", "causal_fraction", "gpt_bert causal-focus", 1 / 16, above=0.5),
          Focus("gpt_bert", "causal_fraction", "gpt_bert masked-focus", 1 / 16, below=0.5), "zero_shot",
          "BabyLM 2025 baselines (Charpentier et al., GPT-BERT strict-small, 10M words)",
          "A GPT-BERT trained mostly causally scores minimal pairs better than one trained mostly masked",
          "BLiMP 71.66 (causal-focus) vs 65.22 (masked-focus); GPT-2 67.29", (1.9e16, 2.8e16), _BABYLM,
          "a causal-focus variant is a gpt_bert whose causal_fraction is above 0.5, a masked-focus one below; both "
          "are scored by their causal log-likelihood (the masked next-token score is recorded beside it)"),
    Claim("gloeckle_mtp_trails_next_token_at_small_sizes", "clm", "mtp", "zero_shot",
          "Gloeckle et al. 2024, Fig. 3",
          "Multi-token prediction trails next-token prediction in small models, and the gap closes then reverses "
          "as models grow (0.3B to 13B parameters)",
          None, (1.8e20, 7.8e21),
          "estimate: 6 x N x D with N from 3e8 to 1.3e10 (the paper's smallest and largest models) and D = 1e11 "
          "tokens, assumed (the order of its code-pretraining runs)",
          "objbench's mtp has 4 heads by default, as the paper; its future heads are feed-forward blocks rather "
          "than transformer layers",
          mismatch=_MTP, trend=True),
    Claim("prabhudesai_diffusion_over_ar_on_repeated_data", "masked_diffusion", "clm", "zero_shot",
          "Prabhudesai et al. 2025, 'Diffusion beats autoregressive in data-constrained settings'",
          "On a corpus repeated for many epochs, a masked diffusion model overtakes an autoregressive one",
          None, (1e18, 1e21),
          "estimate: 6 x N x D over the paper's sweep (models of millions to 2.3e9 parameters, 25M-100M unique "
          "tokens repeated up to hundreds of epochs), order of magnitude only",
          "objbench's masked_diffusion is MDLM/LLaDA's objective on a bidirectional encoder; clm a causal decoder "
          "of the same blocks",
          mismatch=_DIFFUSION, min_epochs=_REPEATED_EPOCHS),
)
