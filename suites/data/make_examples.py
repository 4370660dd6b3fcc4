"""Write the small example files that ``suites/local-example.yaml`` reads.

They come from the embedded synthetic language (world seed 0), so the pretraining text and
the classification examples share one lexicon, as real pretraining text and a real task
would. Run from the repository root: ``python suites/data/make_examples.py``.

- ``pretrain.txt``: documents as paragraphs separated by blank lines, wrapped at 96 columns.
- ``topic-train.csv`` and ``topic-test.jsonl``: the ``synthetic_topic`` task's examples with
  the columns ``sentence`` and ``topic`` (string labels), to show the column mapping.
"""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

from benchmark.config import CorpusConfig
from benchmark.data import synthetic
from benchmark.tasks.synthetic_topic import SyntheticTopic, TopicParams

HERE = Path(__file__).resolve().parent
DOCUMENTS = 250  # ~75 KB of text: enough to show the pipeline, small enough to commit
EXAMPLES = 300  # per split


def main() -> None:
    paragraphs = [textwrap.fill(" ".join(doc), width=96) for doc in synthetic.corpus(DOCUMENTS, seed=0)]
    (HERE / "pretrain.txt").write_text("\n\n".join(paragraphs) + "\n")

    splits = SyntheticTopic(TopicParams(train_size=EXAMPLES, test_size=EXAMPLES)).load(CorpusConfig())
    names = splits["train"].features["label"].names
    with open(HERE / "topic-train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence", "topic"])
        for row in splits["train"]:
            writer.writerow([row["text"], names[row["label"]]])
    with open(HERE / "topic-test.jsonl", "w") as f:
        for row in splits["test"]:
            f.write(json.dumps({"sentence": row["text"], "topic": names[row["label"]]}) + "\n")


if __name__ == "__main__":
    main()
