import pytest

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.registry import Registry


def test_duplicate_name_is_an_error():
    reg = Registry("objective")
    reg.register("mlm")(object)
    with pytest.raises(ObjbenchError, match="registered twice"):
        reg.register("mlm")(int)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ObjbenchError, match=r"unknown objective 'mln'; did you mean 'mlm'"):
        registry.objectives.get("mln")


def test_unknown_name_without_a_close_match_lists_what_exists():
    with pytest.raises(ObjbenchError) as err:
        registry.tasks.get("zzzz")
    assert "did you mean" not in str(err.value)
    assert "synthetic_topic" in str(err.value)


def test_describe_gives_one_line_per_entry():
    described = registry.objectives.describe()
    assert {"none", "clm", "mlm"} <= set(described)
    assert all(line and "\n" not in line for line in described.values())
