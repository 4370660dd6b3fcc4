"""What the pretraining corpus is, and the pinned Hub revisions it reads: what tasks need from the config.

Tasks and the data layer import these; they import nothing else of the project, so the
suite config (which validates entry names against the registries) can import the data layer
and the entries without an import circle.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WIKITEXT, GLUE, AG_NEWS = "Salesforce/wikitext", "nyu-mll/glue", "fancyzhx/ag_news"

# The commit of each Hub dataset that shipped entries read unless a suite overrides it. A
# moving branch ("main") would let the data change under a comparison without notice.
REVISIONS: dict[str, str] = {
    WIKITEXT: "b08601e04326c79dfdd32d625aee71d232d685c3",
    GLUE: "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c",
    AG_NEWS: "eb185aade064a813bc0b7f42de02595523103ca4",
}


class Strict(BaseModel):
    """Base for every config block: unknown keys are errors, assignments are re-validated."""

    # allow_inf_nan=False: an infinite budget or a NaN learning rate is never meant
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class CorpusConfig(Strict):
    """The pretraining text: the synthetic generator, a Hub dataset, or local files.

    ``hub`` reads ``dataset``/``config``/``split`` at ``revision`` (left out: the project's pin
    for that dataset, ``REVISIONS``); ``local`` reads the files ``path`` names (a path
    or glob, relative to the working directory). ``documents`` caps the corpus in both cases:
    the first that many documents are read. How rows become documents is ``document_boundary``
    (see ``corpus.split_documents``).
    """

    source: Literal["synthetic", "hub", "local"] = "synthetic"  # synthetic: offline and deterministic
    documents: int = Field(3000, gt=0)  # ~0.5M words: the quickstart budget passes over it about twice
    seed: int = 0  # the synthetic corpus (and synthetic tasks' world): one fixed stream for every objective
    dataset: str | None = None  # hub: repository id, e.g. Salesforce/wikitext
    config: str | None = None  # hub: the dataset's configuration, e.g. wikitext-103-raw-v1
    split: str = "train"  # hub: held-out splits stay held out
    revision: str | None = None  # hub: commit sha or tag; a moving branch would let the text drift
    path: str | None = None  # local: a file or a glob such as data/*.txt
    format: Literal["auto", "text", "json", "csv", "parquet"] = "auto"  # local: auto goes by file extension
    text_column: str = "text"  # hub and local (not text files): the column holding the text
    # auto: title_row for WikiText, blank_row for local text files, row for everything else.
    document_boundary: Literal["auto", "row", "blank_row", "title_row"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _pinned_revision(cls, data: Any) -> Any:
        pinnable = isinstance(data, dict) and data.get("source") == "hub" and data.get("dataset") in REVISIONS
        if pinnable and data.get("revision") is None:
            data = {**data, "revision": REVISIONS[data["dataset"]]}
        return data

    @model_validator(mode="after")
    def _fields_fit_source(self) -> CorpusConfig:
        if self.source == "hub" and self.dataset is None:
            raise ValueError("dataset is required when source is hub, e.g. Salesforce/wikitext")
        if self.source == "hub" and self.revision is None:
            raise ValueError(f"revision is required for {self.dataset!r}: pin a commit sha or tag")
        if self.source == "local" and self.path is None:
            raise ValueError("path is required when source is local, e.g. data/corpus.txt")
        for name, source in (("dataset", "hub"), ("config", "hub"), ("revision", "hub"), ("path", "local")):
            if getattr(self, name) is not None and self.source != source:
                raise ValueError(f"{name} is only used when source is {source} (source is {self.source})")
        return self
