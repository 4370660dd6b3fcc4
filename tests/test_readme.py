"""The README's examples are the project's real files and commands."""

import re
from pathlib import Path

import yaml

from benchmark import registry

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_add_an_objective_example_is_the_shipped_file():
    shipped = (ROOT / "benchmark" / "objectives" / "all_tokens_mlm.py").read_text()
    assert shipped in _blocks("python")
    assert "all_tokens_mlm" in registry.objectives


def test_every_yaml_example_parses():
    for block in _blocks("yaml"):
        assert isinstance(yaml.safe_load(block), dict)


def test_every_objective_is_in_the_table():
    for name in registry.objectives.names():
        assert f"`{name}`" in README, name
