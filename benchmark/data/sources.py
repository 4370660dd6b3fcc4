"""Reading real data: Hub datasets at pinned revisions, local files, and column mapping.

Everything goes through ``datasets.load_dataset``. Hub datasets land in the usual Hugging
Face datasets cache (``HF_HOME`` / ``HF_DATASETS_CACHE``), so ``objbench fetch SUITE`` run
once with network access lets the suite run later with none. Local files are read by the
packaged ``text``, ``json`` (JSON Lines too), ``csv`` and ``parquet`` builders.

Columns are mapped by role: a task or corpus names which column of the file plays which role
(``text``, ``text_pair``, ``label``; ``question``, ``context``, ``answer``, ``answer_start`` for
QA; ``source``, ``target`` for translation; ``good``, ``bad``, ``phenomenon`` for minimal pairs),
and the loaded data carries the role names. Entries declare these as ``<role>_column`` settings,
which :func:`column_map` collects.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import json
import lzma
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import datasets
import pyarrow.parquet
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub.utils import LocalEntryNotFoundError, httpx

from benchmark import files
from benchmark.corpus_config import AG_NEWS, GLUE, REVISIONS, WIKITEXT  # noqa: F401 (re-exported)
from benchmark.errors import ObjbenchError

ROLES = ("text", "text_pair", "label", "question", "context", "answer", "answer_start", "source", "target", "good",
         "bad", "phenomenon")
LOCAL_FORMATS = ("text", "json", "csv", "parquet")
_FORMAT_OF_SUFFIX = {".txt": "text", ".text": "text", ".json": "json", ".jsonl": "json", ".ndjson": "json",
                     ".csv": "csv", ".parquet": "parquet"}
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
_DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
MIRROR_ENV = "OBJBENCH_HUB_MIRROR"
# The longest text a task file's cell may hold, in characters: far beyond any sentence, paragraph or
# reading-comprehension context, well below a file pasted into a cell. The environment variable raises it.
MAX_TEXT_ENV = "OBJBENCH_MAX_TEXT_CHARS"
MAX_TEXT_CHARS = 1_000_000
FETCH_HINT = "run `objbench fetch <suite file>` where the Hugging Face Hub is reachable, then run offline"

SQUAD, WMT16, BLIMP = "rajpurkar/squad", "wmt/wmt16", "nyu-mll/blimp"
# The task datasets' pins join the corpus pins in the one table every entry reads. Each is the
# commit that independent public projects pin for the dataset's Parquet layout; `objbench fetch`
# downloading it is the check that the commit exists.
REVISIONS.update({
    SQUAD: "7b6d24c440a36b6815f21b70d25016731768db1f",
    WMT16: "41d8a4013aa1489f28fea60ec0932af246086482",
    BLIMP: "877fba0801ffb7cbd8c39c1ff314a46f053f6036",
})


class HubDatasetNotCached(ObjbenchError):
    """A Hub dataset that is neither in the local cache nor reachable: ``objbench fetch`` would fix it."""

    def __init__(self, message: str, dataset: str):
        super().__init__(message)
        self.dataset = dataset  # "owner/name (config) at revision ...": what to fetch


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

    Without network and without a cached copy this raises one ``HubDatasetNotCached`` (an
    ``ObjbenchError``) that names the dataset and ``objbench fetch``, whatever the underlying
    library raised; ``tasks.availability`` gathers these to name every missing dataset at once.
    """
    what = f"{dataset}" + (f" ({config})" if config else "") + f" at revision {revision}"
    try:
        return datasets.load_dataset(hub_path(dataset), config, split=split, revision=revision)
    except (ConnectionError, LocalEntryNotFoundError, httpx.TransportError) as err:
        # Offline mode (HF_HUB_OFFLINE=1) and network failures both end here when nothing is cached.
        raise HubDatasetNotCached(f"Hub dataset {what} is not in the local cache and the Hub cannot be reached "
                                  f"({type(err).__name__}); {FETCH_HINT}", what) from None
    except ValueError as err:
        if str(err).startswith("Couldn't find cache"):  # offline: other configs of the dataset are cached, not this one
            raise HubDatasetNotCached(f"Hub dataset {what} is not in the local cache; {FETCH_HINT}", what) from None
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


def load_local(files: list[Path], format: str, cells_as_text: bool = False) -> datasets.Dataset:
    """Local files (already resolved) through the ``datasets`` builder for ``format``; one split.

    A file that cannot be read (empty, not UTF-8, a malformed JSON line, a broken CSV quote, not
    Parquet) stops with one line naming the file and, where there is one, the line.
    ``cells_as_text`` reads every CSV cell as the text it holds: "007" stays "007" rather than the
    number 7, "NA" stays "NA" rather than a missing value, and an empty cell is "". Text tasks
    need that (an answer may be a year or "None"); class ids want numbers, so it is off by default.
    """
    for f in files:
        if f.stat().st_size == 0:
            raise ObjbenchError(f"{f}: the file is empty")
    options = _text_cells(files[0]) if cells_as_text and format == "csv" else {}
    quiet = datasets.utils.logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # local files read in a blink; a bar per file is noise
    try:
        data = datasets.load_dataset(format, data_files=[str(f) for f in files], split="train", **options)
    except Exception as err:  # the builders raise many types; each is found again and named below
        for f in files:
            problem = _first_problem(f, format)
            if problem:
                raise ObjbenchError(f"{f}{problem}") from None
        raise ObjbenchError(f"{', '.join(map(str, files))}: cannot be read as {format} ({_one_line(err)})") from None
    finally:
        if quiet:
            datasets.enable_progress_bars()
    if len(data) == 0:
        raise ObjbenchError(f"{', '.join(map(str, files))}: no rows")
    return data


def bounded(data: datasets.Dataset, files: list[Path], format: str, cells_as_text: bool = False) -> datasets.Dataset:
    """``data`` when no text cell is longer than the limit (``MAX_TEXT_CHARS``, or ``$OBJBENCH_MAX_TEXT_CHARS``);
    else one error naming the file, row, column and length of the first that is, before anything trains."""
    raw = os.environ.get(MAX_TEXT_ENV)
    try:
        limit = int(raw) if raw else MAX_TEXT_CHARS
    except ValueError:
        raise ObjbenchError(f"{MAX_TEXT_ENV}={raw!r}: not a whole number of characters") from None
    for column, feature in data.features.items():
        if getattr(feature, "dtype", None) not in ("string", "large_string"):
            continue
        over = next(((i, len(v)) for i, v in enumerate(data[column]) if isinstance(v, str) and len(v) > limit), None)
        if over is not None:
            place = row_places(files, format, cells_as_text)(over[0])
            raise ObjbenchError(f"{place}, column {column!r}: a text of {over[1]:,} characters, more than the "
                                f"{limit:,} a cell may hold (set {MAX_TEXT_ENV} to allow longer ones)")
    return data


def row_places(files: list[Path], format: str, cells_as_text: bool = False) -> Callable[[int], str]:
    """``place(i)``: where row ``i`` of ``files`` read together by :func:`load_local` comes from, as
    'FILE, row N' (rows count from 1 within each file; a CSV header is not a row)."""
    lengths: list[int] = []

    def place(i: int) -> str:
        if len(files) == 1:
            return f"{files[0]}, row {i + 1}"
        if not lengths:  # only once a row is named: each file is read again alone to count its rows
            lengths.extend(len(load_local([f], format, cells_as_text)) for f in files)
        for f, n in zip(files, lengths):
            if i < n:
                return f"{f}, row {i + 1}"
            i -= n
        raise IndexError(f"row {i} is past the end of {', '.join(map(str, files))}")
    return place


def _text_cells(path: Path) -> dict:
    """CSV builder options that keep every cell of ``path``'s columns as a string (see ``load_local``)."""
    try:
        with _DECOMPRESSORS.get(path.suffix.lower(), open)(path, "rt", encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), None)
    except (OSError, EOFError, UnicodeDecodeError, lzma.LZMAError, csv.Error):
        return {}  # the builder meets the same fault, and the file is named then
    if not header:
        return {}
    return {"features": datasets.Features({column: datasets.Value("string") for column in header}),
            "na_filter": False}


def _read_bytes(path: Path) -> bytes:
    """A local file's bytes, decompressed by its suffix."""
    with _DECOMPRESSORS.get(path.suffix.lower(), open)(path, "rb") as fh:
        return fh.read()


def _first_problem(path: Path, format: str) -> str | None:
    """Where ``path`` stops being valid ``format``: ', line N: what', or None when no fault is found."""
    if format == "parquet":
        try:
            pyarrow.parquet.read_metadata(path)
        except Exception as err:
            return f": not a Parquet file ({_one_line(err)})"
        return None
    try:
        raw = _read_bytes(path)
    except (OSError, EOFError, lzma.LZMAError) as err:
        return f": cannot be decompressed ({_one_line(err)})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        return f", line {line}: byte {err.start} is not UTF-8 text"
    if format == "json":
        return _json_problem(text)
    if format == "csv":
        return _csv_problem(text)
    return None


def _csv_problem(text: str) -> str | None:
    reader, header = csv.reader(io.StringIO(text), strict=True), None
    while True:
        starts = reader.line_num + 1  # the line where the next row begins
        try:
            row = next(reader)
        except StopIteration:
            return None
        except csv.Error as err:
            return f", line {starts}: {err} (a quote opened there is never closed?)"
        if header is None:
            header = len(row)
        elif row and len(row) != header:
            return f", line {starts}: {len(row)} fields where the header has {header}"


def _json_problem(text: str) -> str | None:
    try:
        json.loads(text)
        return None  # one JSON document (an array of records): the builder's own rules decide
    except ValueError:
        pass
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                json.loads(line)
            except ValueError as err:
                return f", line {number}: not valid JSON ({err.msg})"
    return None


def file_digests(paths: Iterable[Path]) -> list[dict[str, str]]:
    """Path and SHA-256 of each file: what a cache key needs to notice an edited file."""
    return [{"path": str(f), "sha256": files.sha256_of(f)} for f in paths]


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


def class_labels(splits: datasets.DatasetDict, where: str, names: Sequence[str] | None = None,
                 described: Mapping[str, str] | None = None) -> datasets.DatasetDict:
    """Make ``label`` a ``ClassLabel`` shared by every split.

    A ``ClassLabel`` column is kept. Strings become classes named by the sorted strings seen in
    any split. Integers are class ids, named by ``names`` when given and by the numbers
    otherwise. Rows labelled -1 (GLUE's mark for "no label") are dropped. Every split must hold
    the same kind of label; an error names the split by ``described[split]`` (e.g. its files).
    """
    kinds = {}
    for split_name, split in splits.items():
        feature = split.features["label"]
        dtype = getattr(feature, "dtype", None)
        if dtype in ("string", "large_string"):
            kinds[split_name] = "strings"
        elif isinstance(feature, datasets.ClassLabel) or (isinstance(dtype, str) and dtype.startswith("int")):
            kinds[split_name] = "integers"
        else:
            shown = dtype or type(feature).__name__  # Json: a column that mixes numbers and strings
            hint = " (an empty label makes a CSV column float)" if str(dtype).startswith("float") else ""
            raise ObjbenchError(f"{where}: labels in {_described(split_name, described)} must be strings or "
                                f"integers, not {shown}{hint}")
    if len(set(kinds.values())) > 1:
        held = " but ".join(f"{_described(n, described)} has {kind}" for n, kind in kinds.items())
        raise ObjbenchError(f"{where}: {held} as labels; every split needs the same kind")
    feature = next(iter(splits.values())).features["label"]
    if "strings" in kinds.values():
        seen = {split_name: set(split.unique("label")) for split_name, split in splits.items()}
        _check_labelled(seen, where, described)
        return splits.cast_column("label", datasets.ClassLabel(names=sorted(set().union(*seen.values()))))
    splits = splits.filter(lambda batch: [v != -1 for v in batch["label"]], batched=True)
    if isinstance(feature, datasets.ClassLabel):
        return splits
    seen = {split_name: set(split.unique("label")) for split_name, split in splits.items()}
    _check_labelled(seen, where, described)
    for split_name, values in seen.items():
        if values and min(values) < 0:
            raise ObjbenchError(f"{where}: integer labels must be class ids 0, 1, ... (found {min(values)} in "
                                f"{_described(split_name, described)})")
    top = max(set().union(*seen.values()), default=-1)
    if names is not None and top >= len(names):
        raise ObjbenchError(f"{where}: label {top} is out of range for classes {names}")
    return splits.cast_column("label", datasets.ClassLabel(names=list(names or [str(i) for i in range(top + 1)])))


def _check_labelled(seen: Mapping[str, set], where: str, described: Mapping[str, str] | None) -> None:
    for split_name, values in seen.items():
        if None in values:
            raise ObjbenchError(f"{where}: some rows of {_described(split_name, described)} have no label")


def _described(split: str, described: Mapping[str, str] | None) -> str:
    return (described or {}).get(split) or f"the {split} split"


def subset(dataset: datasets.Dataset, size: int | None, seed: int) -> datasets.Dataset:
    """A fixed random ``size`` examples of ``dataset`` (all of it for ``None``): every objective sees the same ones."""
    if size is None or size >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(size)).flatten_indices()


def classification_splits(train: datasets.Dataset, test: datasets.Dataset, columns: Mapping[str, str], where: str,
                          label_names: Sequence[str] | None = None,
                          described: Mapping[str, str] | None = None) -> datasets.DatasetDict:
    """Train and test splits in the classification format: role columns and a shared ``ClassLabel``."""
    splits = datasets.DatasetDict({"train": select_columns(train, columns, f"{where} (train)"),
                                   "test": select_columns(test, columns, f"{where} (test)")})
    return class_labels(splits, where, label_names, described)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
