"""BLiMP: does the pretrained model prefer the grammatical sentence of an English minimal pair?"""

from __future__ import annotations

import difflib
from typing import Literal

import datasets
from pydantic import Field, field_validator

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params

# BLiMP's 67 paradigms, each a configuration of the Hub dataset with 1,000 pairs (split "train").
PARADIGMS = (
    "adjunct_island", "anaphor_gender_agreement", "anaphor_number_agreement", "animate_subject_passive",
    "animate_subject_trans", "causative", "complex_NP_island", "coordinate_structure_constraint_complex_left_branch",
    "coordinate_structure_constraint_object_extraction", "determiner_noun_agreement_1",
    "determiner_noun_agreement_2", "determiner_noun_agreement_irregular_1", "determiner_noun_agreement_irregular_2",
    "determiner_noun_agreement_with_adj_2", "determiner_noun_agreement_with_adj_irregular_1",
    "determiner_noun_agreement_with_adj_irregular_2", "determiner_noun_agreement_with_adjective_1",
    "distractor_agreement_relational_noun", "distractor_agreement_relative_clause", "drop_argument",
    "ellipsis_n_bar_1", "ellipsis_n_bar_2", "existential_there_object_raising", "existential_there_quantifiers_1",
    "existential_there_quantifiers_2", "existential_there_subject_raising", "expletive_it_object_raising",
    "inchoative", "intransitive", "irregular_past_participle_adjectives", "irregular_past_participle_verbs",
    "irregular_plural_subject_verb_agreement_1", "irregular_plural_subject_verb_agreement_2",
    "left_branch_island_echo_question", "left_branch_island_simple_question", "matrix_question_npi_licensor_present",
    "npi_present_1", "npi_present_2", "only_npi_licensor_present", "only_npi_scope", "passive_1", "passive_2",
    "principle_A_c_command", "principle_A_case_1", "principle_A_case_2", "principle_A_domain_1",
    "principle_A_domain_2", "principle_A_domain_3", "principle_A_reconstruction",
    "regular_plural_subject_verb_agreement_1", "regular_plural_subject_verb_agreement_2",
    "sentential_negation_npi_licensor_present", "sentential_negation_npi_scope", "sentential_subject_island",
    "superlative_quantifiers_1", "superlative_quantifiers_2", "tough_vs_raising_1", "tough_vs_raising_2",
    "transitive", "wh_island", "wh_questions_object_gap", "wh_questions_subject_gap",
    "wh_questions_subject_gap_long_distance", "wh_vs_that_no_gap", "wh_vs_that_no_gap_long_distance",
    "wh_vs_that_with_gap", "wh_vs_that_with_gap_long_distance",
)
PAIRS_PER_PARADIGM = 1000


class BLiMPParams(Params):
    revision: str = sources.REVISIONS[sources.BLIMP]  # nyu-mll/blimp commit: the data never moves under a comparison
    # "all": the 67 paradigms, the benchmark as published; or some, by name, separated by commas
    paradigms: str = "all"
    pairs_per_paradigm: int | None = Field(None, ge=1)  # None: all 1,000; a number: a fixed random subset of each
    subset_seed: int = 0  # which subset: the same pairs for every objective
    # what "per phenomenon" means in the metrics: each paradigm (67), or BLiMP's 12 phenomena
    # (its linguistics_term, e.g. anaphor_agreement: the grouping of the paper's results table)
    phenomenon: Literal["paradigm", "linguistics_term"] = "paradigm"

    @field_validator("paradigms")
    @classmethod
    def _known_paradigms(cls, value: str) -> str:
        if not chosen(value):
            raise ValueError("name at least one BLiMP paradigm, or all")
        for name in chosen(value):
            if name not in PARADIGMS:
                close = difflib.get_close_matches(name, PARADIGMS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; BLiMP's paradigms are {', '.join(PARADIGMS)}"
                raise ValueError(f"unknown BLiMP paradigm {name!r}{hint}")
        return value


def chosen(paradigms: str) -> tuple[str, ...]:
    """The paradigms a ``paradigms`` setting names, in BLiMP's order for "all", else in the order given."""
    if paradigms.strip() == "all":
        return PARADIGMS
    return tuple(dict.fromkeys(name.strip() for name in paradigms.split(",") if name.strip()))


@registry.tasks.register("blimp")
class BLiMP:
    """BLiMP: does the pretrained model prefer the grammatical sentence of an English minimal pair?

    The Benchmark of Linguistic Minimal Pairs (Warstadt et al., 2020), read from the Hub dataset
    ``nyu-mll/blimp`` at a pinned revision: 67 paradigms (one configuration each) of 1,000
    pairs that differ in one point of syntax, morphology or semantics. Scored zero-shot by the
    ``zero_shot`` format, exactly as the synthetic minimal pairs are: (pseudo-)log-likelihood
    summed over the sentence, a pair right when the grammatical sentence scores higher. Metrics:
    accuracy over every pair, and per paradigm (or per linguistics_term) as
    ``accuracy_<name>``. The train split is empty: the task measures what pretraining taught.
    """

    Params = BLiMPParams
    format = "zero_shot"

    def __init__(self, params: BLiMPParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        columns = {"good": "sentence_good", "bad": "sentence_bad", "phenomenon": p.phenomenon}
        parts = []
        for paradigm in chosen(p.paradigms):
            data = sources.load_hub(sources.BLIMP, paradigm, "train", p.revision)
            if p.phenomenon == "paradigm":
                data = data.add_column("paradigm", [paradigm] * len(data))
            parts.append(sources.select_columns(sources.subset(data, p.pairs_per_paradigm, p.subset_seed), columns,
                                                f"blimp ({paradigm})"))
        test = datasets.concatenate_datasets(parts)
        return datasets.DatasetDict({"train": test.select([]), "test": test})
