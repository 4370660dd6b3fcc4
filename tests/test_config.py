from pathlib import Path

import pytest

from benchmark.config import apply_overrides, load_suite, parse_override
from benchmark.errors import ObjbenchError
from tests.helpers import tiny_raw, write_suite

SUITES = sorted(Path(__file__).resolve().parent.parent.joinpath("suites").glob("*.yaml"))


@pytest.mark.parametrize("path", SUITES, ids=[p.name for p in SUITES])
def test_every_shipped_suite_validates(path):
    suite = load_suite(path)
    assert suite.objectives and suite.tasks


def test_quickstart_has_the_none_control():
    assert "none" in load_suite("suites/quickstart.yaml").objectives


def test_unknown_key_names_file_and_key(tmp_path):
    raw = tiny_raw(tmp_path)
    raw["pretrain"]["learning_rate"] = 1e-3
    path = write_suite(tmp_path / "bad.yaml", raw)
    with pytest.raises(ObjbenchError, match=r"bad\.yaml: pretrain\.learning_rate: unknown key"):
        load_suite(path)


def test_wrong_type_names_the_key_and_value(tmp_path):
    raw = tiny_raw(tmp_path)
    raw["pretrain"]["batch_size"] = "many"
    path = write_suite(tmp_path / "bad.yaml", raw)
    with pytest.raises(ObjbenchError, match=r"pretrain\.batch_size: .*integer.*'many'"):
        load_suite(path)


def test_unknown_objective_suggests(tmp_path):
    raw = tiny_raw(tmp_path, objectives=["none", "clmm"])
    with pytest.raises(ObjbenchError, match=r"objectives: unknown objective 'clmm'; did you mean 'clm'"):
        load_suite(write_suite(tmp_path / "s.yaml", raw))


def test_objective_params_are_validated_against_the_entry(tmp_path):
    raw = tiny_raw(tmp_path, objective_params={"mlm": {"mask_rate": 1.5}})
    with pytest.raises(ObjbenchError, match=r"objective_params\.mlm\.mask_rate"):
        load_suite(write_suite(tmp_path / "s.yaml", raw))
    raw = tiny_raw(tmp_path, objective_params={"mlm": {"masking": 0.2}})
    with pytest.raises(ObjbenchError, match=r"objective_params\.mlm\.masking: unknown key"):
        load_suite(write_suite(tmp_path / "s.yaml", raw))


def test_unknown_size_is_an_error(tmp_path):
    with pytest.raises(ObjbenchError, match="no size 'huge'"):
        load_suite(write_suite(tmp_path / "s.yaml", tiny_raw(tmp_path, size="huge")))


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nmodels: [llama\ntasks: []\n")
    with pytest.raises(ObjbenchError, match=r"broken\.yaml: malformed YAML at line \d+"):
        load_suite(path)


def test_overrides_are_typed_and_dotted(tmp_path):
    path = write_suite(tmp_path / "s.yaml", tiny_raw(tmp_path))
    suite = load_suite(path, ["pretrain.lr=3e-4", "finetune.seeds=[4, 5]", "objective_params.mlm.mask_rate=0.3"])
    assert suite.pretrain.lr == pytest.approx(3e-4)
    assert suite.finetune.seeds == [4, 5]
    assert suite.objective_settings("mlm").mask_rate == pytest.approx(0.3)


def test_override_with_wrong_type_or_unknown_key_fails(tmp_path):
    path = write_suite(tmp_path / "s.yaml", tiny_raw(tmp_path))
    with pytest.raises(ObjbenchError, match=r"pretrain\.lr: .*number.*'fast'"):
        load_suite(path, ["pretrain.lr=fast"])
    with pytest.raises(ObjbenchError, match=r"pretrain\.nope: unknown key"):
        load_suite(path, ["pretrain.nope=1"])
    with pytest.raises(ObjbenchError, match="expected KEY=VALUE"):
        parse_override("pretrain.lr")


def test_override_of_a_scalar_as_a_section_fails():
    with pytest.raises(ObjbenchError, match="not a section"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_exclude_globs(tmp_path):
    suite = load_suite(write_suite(tmp_path / "s.yaml", tiny_raw(tmp_path, exclude=["*/clm/*"])))
    assert suite.excluded("llama", "clm", "synthetic_topic")
    assert not suite.excluded("llama", "mlm", "synthetic_topic")


def test_variants_sweep_one_hyperparameter(tmp_path):
    raw = tiny_raw(tmp_path, objectives=["none", "mlm", "mlm_50"],
                   variants={"mlm_50": {"objective": "mlm", "mask_rate": 0.5}})
    suite = load_suite(write_suite(tmp_path / "s.yaml", raw))
    assert suite.objective_settings("mlm_50").mask_rate == 0.5
    assert suite.objective_settings("mlm").mask_rate == 0.15
    assert suite.objective_entry("mlm_50") is suite.objective_entry("mlm")


@pytest.mark.parametrize("variants, expected", [
    ({"mlm_50": {"objective": "mlmm", "mask_rate": 0.5}}, r"variants\.mlm_50\.objective: unknown objective 'mlmm'"),
    ({"mlm_50": {"objective": "mlm", "mask_rate": 2.0}}, r"variants\.mlm_50\.mask_rate"),
    ({"clm": {"objective": "mlm"}}, r"variants\.clm: the name of a registered objective"),
])
def test_bad_variants_are_errors(tmp_path, variants, expected):
    raw = tiny_raw(tmp_path, objectives=["none", "mlm_50"], variants=variants)
    with pytest.raises(ObjbenchError, match=expected):
        load_suite(write_suite(tmp_path / "s.yaml", raw))


def test_a_missing_required_task_setting_is_one_line(tmp_path):
    raw = tiny_raw(tmp_path, tasks=["local_classification"], task_params={})
    with pytest.raises(ObjbenchError, match=r"task_params\.local_classification\.train_path: Field required"):
        load_suite(write_suite(tmp_path / "s.yaml", raw))


def test_pretraining_seeds_default_to_two(tmp_path):
    """Intervals are over pretraining seeds: a suite that names none gets two, so its verdicts are not provisional."""
    raw = tiny_raw(tmp_path)
    del raw["pretrain"]["seeds"]
    suite = load_suite(write_suite(tmp_path / "s.yaml", raw))
    assert suite.pretrain.seeds == [0, 1]
    assert suite.finetune.seeds == [0]  # the tiny suite's own
