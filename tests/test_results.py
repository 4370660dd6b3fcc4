import json

import pytest

from benchmark.errors import ObjbenchError
from benchmark.results import (
    DIGEST_KEY,
    SCHEMA_VERSION,
    content_digest,
    iter_records,
    read_records_file,
    to_dataframe,
    write_record,
    write_records_file,
)


def _record(run_id, **extra):
    """A record as the store holds it, content hash included."""
    record = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "suite": "s",
              "created_at": "2026-01-01T00:00:00+00:00", "objective": "mlm",
              "metrics": {"accuracy": 0.5, "f1_macro": None}, "config": {"name": "s"}, **extra}
    return {**record, DIGEST_KEY: content_digest(record)}


def test_records_round_trip_into_a_dataframe(tmp_path):
    write_record(tmp_path, _record("a"))
    write_record(tmp_path, _record("b", objective="clm"))
    df = to_dataframe(tmp_path, "s")
    assert sorted(df["run_id"]) == ["a", "b"]
    assert "metrics.accuracy" in df and df["metrics.f1_macro"].isna().all()
    assert df["config"].iloc[0] == {"name": "s"}  # the resolved config stays one value


def test_the_store_is_append_only(tmp_path):
    write_record(tmp_path, _record("a"))
    with pytest.raises(FileExistsError):
        write_record(tmp_path, _record("a"))


def test_records_without_the_schema_version_are_refused(tmp_path):
    bad = _record("a")
    bad["schema_version"] = None
    with pytest.raises(ValueError, match="schema_version"):
        write_record(tmp_path, bad)


def test_a_failed_write_leaves_no_half_record(tmp_path):
    bad = {**_record("a"), "metrics": {"accuracy": object()}}  # not JSON-serialisable: the write fails
    with pytest.raises(TypeError):
        write_record(tmp_path, bad)
    folder = tmp_path / "s" / "runs"
    assert list(folder.glob("*")) == []  # nothing under the real name, and no leftover beside it
    assert list(iter_records(tmp_path, "s")) == []
    write_record(tmp_path, _record("a"))
    assert json.loads((folder / "a.json").read_text())["run_id"] == "a"


def test_a_records_file_round_trips_in_order(tmp_path):
    records = [_record("b"), _record("a", objective="clm")]
    write_records_file(tmp_path / "records.jsonl", records)
    assert read_records_file(tmp_path / "records.jsonl") == records


def test_a_records_file_with_an_edited_record_is_refused(tmp_path):
    path = tmp_path / "records.jsonl"
    write_records_file(path, [_record("a"), {**_record("b"), "metrics": {"accuracy": 1.0}}])
    with pytest.raises(ObjbenchError, match=r"line 2: record b changed since it was written"):
        read_records_file(path)


@pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1, None])
def test_a_records_file_with_another_schema_version_is_refused(tmp_path, version):
    path = tmp_path / "records.jsonl"
    write_records_file(path, [_record("a"), {**_record("old"), "schema_version": version}])
    with pytest.raises(ObjbenchError) as err:
        read_records_file(path)
    message = str(err.value)
    assert str(path) in message and "record old" in message and f"schema_version {version!r}" in message


def test_a_record_of_the_previous_schema_is_read_in_todays_form(tmp_path):
    """Version 2 divided by a matmul timed in the process: read as today's MFU over a measured peak."""
    old = {"schema_version": 2, "run_id": "old", "suite": "s", "created_at": "2026-01-01T00:00:00+00:00",
           "objective": "clm", "metrics": {"accuracy": 0.5}, "config": {"name": "s"},
           "pretrain": {"mfu": 0.03, "matmul_flops_per_s": 4e10, "flops_per_s": 1.2e9}}
    old = {**old, DIGEST_KEY: content_digest(old)}
    (tmp_path / "s" / "runs").mkdir(parents=True)
    (tmp_path / "s" / "runs" / "old.json").write_text(json.dumps(old))
    write_records_file(tmp_path / "records.jsonl", [old])
    for record in (*iter_records(tmp_path, "s"), *read_records_file(tmp_path / "records.jsonl")):
        assert record["schema_version"] == SCHEMA_VERSION and record["upgraded_from"] == 2
        assert record["pretrain"] == {"mfu": 0.03, "peak_flops_per_s": 4e10, "peak_source": "measured",
                                      "flops_per_s": 1.2e9}
        assert record[DIGEST_KEY] == content_digest(record)
    edited = {**old, "metrics": {"accuracy": 0.9}}  # an old record is still checked against its own hash
    write_records_file(tmp_path / "edited.jsonl", [edited])
    with pytest.raises(ObjbenchError, match="changed since it was written"):
        read_records_file(tmp_path / "edited.jsonl")
