"""Reading real data: Hub datasets at pinned revisions, local files, and column mapping.

Everything goes through ``datasets.load_dataset``. Hub datasets land in the usual Hugging
Face datasets cache (``HF_HOME`` / ``HF_DATASETS_CACHE``), so ``objbench fetch SUITE`` run
once with network access lets the suite run later with none. Local files are read by the
packaged ``text``, ``json`` (JSON Lines too), ``csv`` and ``parquet`` builders.

Columns are mapped by role: a task or corpus names which column of the file plays which role
(``text``, ``text_pair``, ``label``; ``question``, ``context``, ``answer`` for QA;
``source``, ``target`` for translation), and the loaded data carries the role names. Entries
declare these as ``<role>_column`` settings, which :func:`column_map` collects.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import datasets
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub.utils import LocalEntryNotFoundError, httpx

from benchmark.corpus_config import AG_NEWS, GLUE, REVISIONS, WIKITEXT  # noqa: F401 (re-exported)
from benchmark.errors import ObjbenchError

ROLES = ("text", "text_pair", "label", "question", "context", "answer", "source", "target")
LOCAL_FORMATS = ("text", "json", "csv", "parquet")
_FORMAT_OF_SUFFIX = {".txt": "text", ".text": "text", ".json": "json", ".jsonl": "json", ".ndjson": "json",
                     ".csv": "csv", ".parquet": "parquet"}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
MIRROR_ENV = "OBJBENCH_HUB_MIRROR"
FETCH_HINT = "run `objbench fetch <suite file>` where the Hugging Face Hub is reachable, then run offline"


def hub_path(dataset: str) -> str:
    """Where ``load_dataset`` looks for a Hub dataset: its repository id, or a local mirror.

    With ``OBJBENCH_HUB_MIRROR`` set, ``<mirror>/<owner>/<name>`` (a copy of the dataset
    repository, checked out at the pinned revision) is read instead of the Hub. That is for
    machines that can never reach the Hub, and it is how the tests read Hub-shaped data.
    """
    mirror = os.environ.get(MIRROR_ENV)
    return str(Path(mirror) / dataset) if mirror else dataset


def load_hub(dataset: str, config: str | None, split: str, revision: str) -> datasets.Dataset:
    """One split of a Hub dataset at ``revision``, from the local cache when it is there.

    Without network and without a cached copy this raises one ``ObjbenchError`` that names the
    dataset and ``objbench fetch``, whatever the underlying library raised.
    """
    what = f"{dataset}" + (f" ({config})" if config else "") + f" at revision {revision}"
    try:
        return datasets.load_dataset(hub_path(dataset), config, split=split, revision=revision)
    except (ConnectionError, LocalEntryNotFoundError, httpx.TransportError) as err:
        # Offline mode (HF_HUB_OFFLINE=1) and network failures both end here when nothing is cached.
        raise ObjbenchError(f"Hub dataset {what} is not in the local cache and the Hub cannot be reached "
                            f"({type(err).__name__}); {FETCH_HINT}") from None
    except ValueError as err:
        if str(err).startswith("Couldn't find cache"):  # offline: other configs of the dataset are cached, not this one
            raise ObjbenchError(f"Hub dataset {what} is not in the local cache; {FETCH_HINT}") from None
        raise ObjbenchError(f"Hub dataset {what}: {_one_line(err)}") from None
    except (DatasetNotFoundError, FileNotFoundError) as err:
        raise ObjbenchError(f"Hub dataset {what}: {_one_line(err)}") from None


def resolve_files(pattern: str, where: str) -> list[Path]:
    """The files a path or glob names (sorted, so the order never depends on the file system)."""
    files = sorted(Path(p) for p in glob.glob(os.path.expanduser(pattern), recursive=True) if Path(p).is_file())
    if not files:
        raise ObjbenchError(f"{where}: no file matches {pattern!r} (relative paths start at {Path.cwd()})")
    return files


def local_format(files: list[Path], format: str, where: str) -> str:
    """``format``, or for ``auto`` the builder that the files' extension names."""
    if format != "auto":
        return format
    found = set()
    for f in files:
        name = f.name.lower()
        for suffix in _COMPRESSION_SUFFIXES:
            name = name.removesuffix(suffix)
        found.add(_FORMAT_OF_SUFFIX.get(Path(name).suffix))
    if None in found or len(found) != 1:
        raise ObjbenchError(f"{where}: cannot tell the format of {', '.join(str(f) for f in files[:3])} from the "
                            f"extension; set format to one of {', '.join(LOCAL_FORMATS)}")
    return found.pop()


def load_local(files: list[Path], format: str) -> datasets.Dataset:
    """Local files (already resolved) through the ``datasets`` builder for ``format``; one split."""
    return datasets.load_dataset(format, data_files=[str(f) for f in files], split="train")


def file_digests(files: Iterable[Path]) -> list[dict[str, str]]:
    """Path and SHA-256 of each file: what a cache key needs to notice an edited file."""
    out = []
    for f in files:
        digest = hashlib.sha256()
        with open(f, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        out.append({"path": str(f), "sha256": digest.hexdigest()})
    return out


def column_map(params: object) -> dict[str, str]:
    """Role -> column from an entry's ``<role>_column`` settings (unset ones are left out)."""
    return {role: getattr(params, f"{role}_column") for role in ROLES
            if getattr(params, f"{role}_column", None) is not None}


def select_columns(dataset: datasets.Dataset, columns: Mapping[str, str], where: str) -> datasets.Dataset:
    """Keep the mapped columns only, renamed to their roles; a missing column is named in the error."""
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown column roles {unknown}; known: {', '.join(ROLES)}")
    for role, column in columns.items():
        if column not in dataset.column_names:
            raise ObjbenchError(f"{where}: no column {column!r} for the {role} "
                                f"(the data has: {', '.join(dataset.column_names)})")
    shared = sorted({c for c in columns.values() if list(columns.values()).count(c) > 1})
    if shared:
        raise ObjbenchError(f"{where}: column {shared[0]!r} is mapped to more than one role")
    kept = dataset.select_columns(list(columns.values()))
    return kept.rename_columns({column: role for role, column in columns.items() if column != role})


def class_labels(splits: datasets.DatasetDict, where: str, names: Sequence[str] | None = None) -> datasets.DatasetDict:
    """Make ``label`` a ``ClassLabel`` shared by every split.

    A ``ClassLabel`` column is kept. Strings become classes named by the sorted strings seen in
    any split. Integers are class ids, named by ``names`` when given and by the numbers
    otherwise. Rows labelled -1 (GLUE's mark for "no label") are dropped.
    """
    feature = next(iter(splits.values())).features["label"]
    dtype = getattr(feature, "dtype", None)
    if dtype in ("string", "large_string"):
        seen = {v for split in splits.values() for v in split.unique("label")}
        if None in seen:
            raise ObjbenchError(f"{where}: some rows have no label")
        return splits.cast_column("label", datasets.ClassLabel(names=sorted(seen)))
    if not isinstance(feature, datasets.ClassLabel) and not (isinstance(dtype, str) and dtype.startswith("int")):
        raise ObjbenchError(f"{where}: labels must be strings or integers, not {dtype}")
    splits = splits.filter(lambda batch: [v != -1 for v in batch["label"]], batched=True)
    if isinstance(feature, datasets.ClassLabel):
        return splits
    seen = {v for split in splits.values() for v in split.unique("label")}
    if None in seen:
        raise ObjbenchError(f"{where}: some rows have no label")
    if seen and min(seen) < 0:
        raise ObjbenchError(f"{where}: integer labels must be class ids 0, 1, ... (found {min(seen)})")
    top = max(seen, default=-1)
    if names is not None and top >= len(names):
        raise ObjbenchError(f"{where}: label {top} is out of range for classes {names}")
    return splits.cast_column("label", datasets.ClassLabel(names=list(names or [str(i) for i in range(top + 1)])))


def subset(dataset: datasets.Dataset, size: int | None, seed: int) -> datasets.Dataset:
    """A fixed random ``size`` examples of ``dataset`` (all of it for ``None``): every objective sees the same ones."""
    if size is None or size >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(size)).flatten_indices()


def classification_splits(train: datasets.Dataset, test: datasets.Dataset, columns: Mapping[str, str], where: str,
                          label_names: Sequence[str] | None = None) -> datasets.DatasetDict:
    """Train and test splits in the classification format: role columns and a shared ``ClassLabel``."""
    splits = datasets.DatasetDict({"train": select_columns(train, columns, f"{where} (train)"),
                                   "test": select_columns(test, columns, f"{where} (test)")})
    return class_labels(splits, where, label_names)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
