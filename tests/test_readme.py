"""The examples in README.md and docs/*.md are the project's real files, and their commands are real commands.

Every fenced block of README.md and of every docs/*.md (a new doc is picked up by its name) is checked
against what it shows, and names its doc and line when it fails:

- A ``yaml`` or ``python`` block right after ``<!-- file: PATH -->`` is PATH byte for byte; after
  ``<!-- excerpt: PATH -->`` it is a contiguous run of whole lines of PATH. Every ``yaml`` block
  is a suite file under ``suites/``, and that suite loads with ``load_suite``.
- A ``python`` block with no marker is run, in a folder that holds a tiny result store.
- Every line of a ``bash`` block is checked: ``objbench``/``python -m benchmark`` through the
  CLI's own parser and ``load_suite`` with the line's overrides (``list`` is run in-process; the
  records files ``compare``, ``check`` and ``report --records`` name must be committed),
  ``make`` targets and variables against the Makefile, ``pip install`` against pyproject.toml,
  ``python -m pytest`` against the declared markers. A command of any other form fails, so a new
  kind of command needs a check here first.

The tables of objectives, tasks and formats are checked against the registries, wherever they are;
the README's summary against the registries' sizes; links between the docs against their targets and
headings; the example CI workflow against the order it promises (tests, then the gate).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import re
import runpy
import shlex
import sys
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from benchmark import registry
from benchmark.cli import _parser, main
from benchmark.config import load_suite
from benchmark.models.kinds import ModelKind

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
DOCS = {p.relative_to(ROOT).as_posix(): p.read_text()
        for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
README = DOCS["README.md"]
MAKEFILE = (ROOT / "Makefile").read_text()
WORKFLOW = ROOT / ".github" / "workflows" / "objbench-check.yml"
# Linked from the docs, but written on its own: checked like any link once it exists.
NOT_YET_WRITTEN = {"docs/architecture.md"}

KIND_LABELS = {ModelKind.CAUSAL: "causal decoder", ModelKind.PREFIX: "prefix decoder", ModelKind.ENCODER: "encoder",
               ModelKind.ENCODER_DECODER: "encoder-decoder"}


@dataclass(frozen=True)
class Block:
    doc: str  # README.md or docs/NAME.md
    language: str
    text: str
    line: int  # of the opening fence in the doc
    marker: str | None  # "file" or "excerpt"
    path: str | None

    def __str__(self) -> str:
        return f"{self.doc}:{self.line} ({self.language}{', ' + self.marker + ' ' + self.path if self.marker else ''})"


FENCE = re.compile(r"(?:^<!-- (file|excerpt): (\S+) -->\n)?^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _blocks(doc: str, text: str) -> list[Block]:
    return [Block(doc, m[3], m[4], text.count("\n", 0, m.start(3)) + 1, m[1], m[2]) for m in FENCE.finditer(text)]


BLOCKS = [block for doc, text in DOCS.items() for block in _blocks(doc, text)]


def blocks(language: str, marked: bool | None = None) -> list[Block]:
    return [b for b in BLOCKS if b.language == language and (marked is None or (b.marker is not None) == marked)]


def ids(items) -> list[str]:
    return [str(i) for i in items]


def check_marked(block: Block) -> Path:
    """The block is the file its marker names, whole or as a contiguous run of whole lines."""
    path = ROOT / block.path
    assert path.is_file(), f"{block}: no such file"
    shipped = path.read_text()
    if block.marker == "file":
        assert block.text == shipped, f"{block}: the copy differs from {block.path}; paste the file again"
    else:
        assert block.text.endswith("\n") and ("\n" + block.text in "\n" + shipped), (
            f"{block}: not a contiguous run of whole lines of {block.path}")
    return path


def section(title: str) -> str:
    """The text from the heading ``## title`` to the next ``## `` heading, in the one doc that has it."""
    found = [text for text in DOCS.values() if f"\n## {title}\n" in text]
    assert len(found) == 1, f"{len(found)} docs have a section ## {title}"
    text = found[0]
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def table_rows(header_start: str) -> dict[str, list[str]]:
    """The rows of the markdown table whose header line starts with ``header_start``, by first cell;
    the table may be in any doc, but in one only."""
    found = [text.splitlines() for text in DOCS.values()
             if any(line.startswith(header_start) for line in text.splitlines())]
    assert len(found) == 1, f"{len(found)} docs have a table headed {header_start!r}"
    lines = found[0]
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


# --- the fenced blocks ----------------------------------------------------------------------------

def test_every_block_is_checked_by_a_rule_here():
    languages = {b.language for b in BLOCKS}
    assert languages <= {"bash", "yaml", "python", "mermaid", ""}, languages
    assert all(b.marker for b in blocks("yaml")), "a yaml block needs a <!-- file: ... --> or excerpt marker"
    assert len(blocks("")) == 1, "only the layout tree is an unchecked block"


@pytest.mark.parametrize("block", blocks("mermaid"), ids=ids(blocks("mermaid")))
def test_diagrams_name_only_modules_and_functions_that_exist(block):
    """A flow diagram's ``benchmark.module[.name]`` labels import: renaming a module or function breaks the test,
    not the diagram."""
    import importlib

    named = re.findall(r"benchmark(?:\.\w+)+", block.text)
    assert named, f"{block}: names no module"
    for dotted in named:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix, then attributes below it
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                assert hasattr(target, attr), f"{block}: {dotted} does not exist"
                target = getattr(target, attr)
            break


@pytest.mark.parametrize("block", blocks("yaml"), ids=ids(blocks("yaml")))
def test_yaml_blocks_are_suite_files_that_load(block):
    assert block.path.startswith("suites/") and block.path.endswith(".yaml"), f"{block}: not a suite file"
    path = check_marked(block)
    suite = load_suite(path)
    assert suite.name == Path(block.path).stem, f"{block.path}: name {suite.name!r} is not the file's"


@pytest.mark.parametrize("block", blocks("python", marked=True), ids=ids(blocks("python", marked=True)))
def test_marked_python_blocks_are_the_files(block):
    check_marked(block)
    compile(block.text, str(block), "exec")  # an excerpt, too, is whole statements


@pytest.mark.parametrize("block", blocks("python", marked=False), ids=ids(blocks("python", marked=False)))
def test_unmarked_python_blocks_run_against_a_result_store(block, tmp_path, monkeypatch):
    from benchmark.results import SCHEMA_VERSION, write_record

    for suite in ("quickstart", "other"):
        write_record(tmp_path / "results", {"schema_version": SCHEMA_VERSION, "run_id": f"run-{suite}",
                                            "suite": suite, "created_at": "2026-01-01T00:00:00+00:00",
                                            "objective": "mlm", "task": "synthetic_topic",
                                            "metrics": {"f1_macro": 0.5, "accuracy": 0.6}})
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block.text, str(block), "exec"), namespace)
    if "to_dataframe" in block.text:
        df = namespace["df"]
        assert list(df["run_id"]) == ["run-quickstart"]  # one row per run, of the suite it names
        assert df.loc[0, "metrics.f1_macro"] == 0.5  # the dotted column the comment promises


def shipped_example(folder: str, reg) -> tuple[Block, object]:
    """The docs' one whole-file example of ``benchmark/<folder>/``, checked against the file, and the
    entry it registers; its import line must be shown and be in the folder's ``__init__.py``."""
    shown = [b for b in blocks("python") if b.path and b.path.startswith(f"benchmark/{folder}/")]
    files = [b for b in shown if b.marker == "file"]
    assert len(files) == 1, f"the {folder} example: one whole file of benchmark/{folder}/"
    check_marked(files[0])
    module = Path(files[0].path).stem
    name = re.search(rf'@registry\.{folder}\.register\("(\w+)"\)', files[0].text)[1]
    assert name in reg
    entry = reg.get(name)
    assert entry.__module__ == f"benchmark.{folder}.{module}"
    line = f"from benchmark.{folder} import {module}  # noqa: F401\n"
    assert any(b.marker == "excerpt" and b.path == f"benchmark/{folder}/__init__.py" and b.text == line
               for b in shown), f"the import line of the {folder} example"
    assert line in (ROOT / "benchmark" / folder / "__init__.py").read_text()
    return files[0], entry


def test_the_add_an_objective_example_is_the_shipped_file_and_registered():
    shipped_example("objectives", registry.objectives)


def test_the_add_a_task_example_is_the_shipped_file_and_registered():
    example, task = shipped_example("tasks", registry.tasks)
    assert task.format in registry.formats
    assert f"`{example.path}` in full" in section("Add a task")


def test_the_format_excerpt_is_a_registered_format_with_its_metric():
    shown = [b for b in blocks("python") if b.path and b.path.startswith("benchmark/formats/")]
    assert shown, "the format note shows a format"
    for block in shown:
        check_marked(block)
        name = re.search(r'@registry\.formats\.register\("(\w+)"\)', block.text)[1]
        assert name in registry.formats and "primary_metric = MetricSpec(" in block.text


# --- the bash blocks ------------------------------------------------------------------------------

def _commands() -> list[tuple[str, str]]:
    """(where, command line) for every non-empty line of every bash block."""
    out = []
    for block in blocks("bash"):
        for offset, line in enumerate(block.text.splitlines(), start=1):
            if shlex.split(line, comments=True):
                out.append((f"{block.doc}:{block.line + offset}", line))
    return out


COMMANDS = _commands()


def _pyproject() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _make_variable(name: str) -> str | None:
    found = re.search(rf"^{re.escape(name)}\s*[?:]?=\s*(.*)$", MAKEFILE, flags=re.MULTILINE)
    return found[1].strip() if found else None


def check_make(where: str, args: list[str]) -> None:
    targets = [a for a in args if "=" not in a]
    assert targets, f"{where}: make with no target"
    for target in targets:
        found = re.search(rf"^{re.escape(target)}\s*:", MAKEFILE, flags=re.MULTILINE)
        assert found, f"{where}: no make target {target!r}"
    for setting in (a for a in args if "=" in a):
        name = setting.split("=", 1)[0]
        assert _make_variable(name) is not None, f"{where}: the Makefile has no variable {name}"


def check_pip(where: str, args: list[str]) -> None:
    assert args[:1] == ["install"], f"{where}: only pip install is checked"
    project = _pyproject()["project"]
    wanted = [a for a in args[1:] if not a.startswith("-")]
    assert wanted, f"{where}: nothing to install"
    for spec in wanted:
        local = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", spec)
        if local:  # this project, with extras
            extras = set(local[1].split(",")) if local[1] else set()
            missing = extras - set(project.get("optional-dependencies", {}))
            assert not missing, f"{where}: pyproject.toml has no extra {sorted(missing)}"
            continue
        requirement = Requirement(spec)
        declared = [Requirement(d) for d in project["dependencies"]]
        same = [d for d in declared if d.name == requirement.name]
        assert same, f"{where}: {requirement.name} is not a dependency in pyproject.toml"
        for version in re.findall(r"==\s*([\w.]+)", spec):
            assert same[0].specifier.contains(version), f"{where}: {spec} does not satisfy {same[0]}"
        if requirement.name == "torch":  # the build `make` installs when there is none
            default = _make_variable("TORCH")
            assert default == spec, f"{where}: the Makefile's TORCH default is {default}"


def check_pytest(where: str, args: list[str]) -> None:
    test_extra = " ".join(_pyproject()["project"]["optional-dependencies"]["test"])
    assert "pytest" in test_extra, f"{where}: pytest is not in the test extra"
    declared = {m.split(":")[0].strip() for m in _pyproject()["tool"]["pytest"]["ini_options"].get("markers", [])}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "-m":
            expression = rest.pop(0)
            names = set(re.findall(r"\w+", expression)) - {"and", "or", "not"}
            assert names <= declared, f"{where}: undeclared pytest markers {sorted(names - declared)}"
        elif not arg.startswith("-"):
            assert (ROOT / arg.split("::")[0]).exists(), f"{where}: no such test path {arg}"


def check_cli(where: str, argv: list[str], capsys, module: bool = False) -> None:
    """Parse ``argv`` as ``objbench`` does; ``list`` runs, the others load their suite with its overrides."""
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: objbench does not accept {shlex.join(argv)}: {capsys.readouterr().err.strip()}")
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    assert not stray, f"{where}: objbench would reject {stray}"
    if args.command == "list":
        capsys.readouterr()
        if module:  # `python -m benchmark ...`: the package's __main__, as the shell would run it
            with _argv(["benchmark", *argv]), pytest.raises(SystemExit) as exit_:
                runpy.run_module("benchmark", run_name="__main__", alter_sys=True)
            code = exit_.value.code
        else:
            code = main(argv)
        printed = capsys.readouterr().out
        assert code == 0, f"{where}: exit status {code}"
        listed = {line.split()[0] for line in printed.splitlines() if line.strip()}
        assert listed == set(getattr(registry, args.kind).names()), f"{where}: printed {printed!r}"
        return
    if args.command == "compare":  # each side a committed records file, or a suite file that loads
        for side in (args.baseline, args.current):
            assert (ROOT / side).is_file(), f"{where}: no such file {side}"
            if side.suffix in (".yaml", ".yml"):
                load_suite(ROOT / side)
        return
    if args.command == "inspect":  # a run of a committed example report, which started from a checkpoint
        recorded = [json.loads(line) for f in ROOT.glob("reports/*/records.jsonl") for line in f.read_text().splitlines()]
        found = [r for r in recorded if r["run_id"].startswith(args.target)]
        assert found and found[0].get("checkpoint"), f"{where}: no pretrained run {args.target} in reports/*/records.jsonl"
        return
    if args.command == "export":  # a suite file (as below), or a run of a committed example report
        if not args.target.endswith((".yaml", ".yml")):
            recorded = [json.loads(line) for f in ROOT.glob("reports/*/records.jsonl")
                        for line in f.read_text().splitlines()]
            assert any(r["run_id"].startswith(args.target) for r in recorded), f"{where}: no run {args.target}"
            return
        args.suite = Path(args.target)
    overrides = [*args.overrides, *extra]
    suite = load_suite(ROOT / args.suite, overrides)  # a typo in a key, a value or the file name fails here
    assert (ROOT / args.suite).is_file()
    paths = []
    if suite.corpus.source == "local":
        paths.append(("corpus.path", suite.corpus.path))
    for task, settings in suite.task_params.items():
        paths += [(f"task_params.{task}.{k}", v) for k, v in settings.items() if k.endswith("_path")]
    for key, pattern in paths:  # relative to where objbench runs: the repository root in these docs
        assert glob.glob(str(ROOT / pattern)), f"{where}: {key} {pattern!r} matches no file"
    if getattr(args, "records", None) is not None:
        assert (ROOT / args.records).is_file(), f"{where}: no records file {args.records}"
    if getattr(args, "baseline", None) is not None:  # objbench check: the committed baseline
        assert (ROOT / args.baseline).is_file(), f"{where}: no baseline file {args.baseline}"


@contextlib.contextmanager
def _argv(argv: list[str]):
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[f"{w} {c.split('#')[0].strip()}" for w, c in COMMANDS])
def test_every_bash_command_is_valid(where, line, capsys):
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):  # VAR=value before a command
        words.pop(0)
    program, args = words[0], words[1:]
    if program == "objbench":
        check_cli(where, args, capsys)
    elif program == "python" and args[:2] == ["-m", "benchmark"]:
        check_cli(where, args[2:], capsys, module=True)
    elif program == "python" and args[:2] == ["-m", "benchmark.gpu_check"]:
        from benchmark import gpu_check

        gpu_check.parser().parse_args(args[2:])  # exits (a failure here) on an option it does not take
    elif program == "python" and args[:2] == ["-m", "pytest"]:
        check_pytest(where, args[2:])
    elif program == "make":
        check_make(where, args)
    elif program == "pip":
        check_pip(where, args)
    else:
        pytest.fail(f"{where}: no check for {line!r}; add one to tests/test_readme.py")


def test_the_commands_show_every_cli_verb():
    shown = {shlex.split(c, comments=True)[1] for _, c in COMMANDS if c.startswith("objbench ")}
    verbs = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(verbs) <= shown, f"no example of objbench {sorted(set(verbs) - shown)}"


def test_a_flops_override_in_the_commands_means_more_than_a_step():
    """Budgets in the commands are in the suite's unit: a FLOPs budget below one step is a mistake."""
    for where, line in COMMANDS:
        words = shlex.split(line, comments=True)
        if words[:2] != ["objbench", "run"]:
            continue
        suite = load_suite(ROOT / words[2], [w for w in words[3:] if "=" in w])
        if suite.pretrain.budget_unit == "flops":  # one step of the tiny preset costs ~5e9 FLOPs
            assert suite.pretrain.budget >= 1e11, f"{where}: {suite.pretrain.budget:g} FLOPs is a handful of steps"


# --- tables and prose against the registries ---------------------------------------------------------

def test_every_objective_is_in_the_table_with_its_model_kind():
    rows = table_rows("| objective | model kind |")
    assert set(rows) == set(registry.objectives.names())
    for name, cells in rows.items():
        entry = registry.objectives.get(name)
        kind = getattr(entry, "kind", None)  # a class attribute (often a base class's), or a property
        if isinstance(kind, ModelKind):
            assert cells[1] == KIND_LABELS[kind], f"{name}: the table says {cells[1]!r}"
        else:  # chosen by a setting (the `none` control): every choice is named
            choices = typing.get_args(entry.Params.model_fields["kind"].annotation)
            for choice in choices:
                assert KIND_LABELS[ModelKind(choice)] in cells[1], f"{name}: {choice} missing from {cells[1]!r}"


def test_every_task_is_in_the_table_with_its_format():
    rows = table_rows("| task | format |")
    assert set(rows) == set(registry.tasks.names())
    for name, cells in rows.items():
        assert cells[1] == registry.tasks.get(name).format, f"{name}: the table says {cells[1]!r}"


def test_every_format_is_in_the_table_with_its_columns_metric_and_kinds():
    rows = table_rows("| format | columns of each split |")
    assert set(rows) == set(registry.formats.names())
    for name, cells in rows.items():
        fmt = registry.formats.get(name)
        source = (ROOT / "benchmark" / "formats" / f"{name}.py").read_text()
        read = set(re.findall(r'split\["(\w+)"\]', source)) | set(re.findall(r'"(\w+)" in split\.column_names', source))
        listed = set(re.findall(r"`(\w+)`", cells[1]))
        assert listed == read, f"{name}: the table lists {sorted(listed)}, the format reads {sorted(read)}"
        assert cells[2] == f"`{fmt.primary_metric.name}`"
        assert cells[4].startswith(f"`{fmt.companion_metric.name}`: "), f"{name}: {cells[4]!r}"
        encoder = fmt().unsupported(ModelKind.ENCODER)
        assert ("all but the encoder" in cells[3]) == (encoder is not None), f"{name}: {cells[3]!r}"
        assert ("nothing is finetuned" in cells[3]) == (not fmt.finetunes), f"{name}: {cells[3]!r}"


def test_the_quick_start_names_every_objective_of_the_quickstart_suite():
    suite = load_suite(ROOT / "suites" / "quickstart.yaml")
    text = section("Quick start")
    for name in suite.objectives:  # the pretrained objectives and the controls
        assert f"`{name}`" in text, name


@pytest.mark.parametrize("doc", DOCS)
def test_every_suite_file_named_in_the_docs_exists(doc):
    named = set(re.findall(r"suites/[\w.-]+\.yaml", DOCS[doc]))
    missing = named - {f"suites/{p.name}" for p in (ROOT / "suites").glob("*.yaml")}
    assert not missing, f"{doc}: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted((ROOT / "suites").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_suite_loads_and_has_an_untrained_control(path):
    """The introduction promises a `none` control in every shipped suite."""
    suite = load_suite(path)
    assert any(not suite.objective_entry(name).pretrains for name in suite.objectives), path.name


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_in_the_docs_exists(doc):
    text = DOCS[doc]
    paths = set(re.findall(r"`((?:benchmark|tests|suites|reports|\.github)/[\w./-]+)`", text))
    paths |= set(re.findall(r"\]\(((?:benchmark|tests|suites|reports)/[\w./-]+)\)", text))
    missing = sorted(p for p in paths if "<" not in p and not glob.glob(str(ROOT / p)))
    assert not missing, f"{doc}: {missing}"


def _headings(text: str) -> set[str]:
    """The anchors a code host gives the headings of ``text`` (fenced blocks left out)."""
    prose = FENCE.sub("", text)
    titles = re.findall(r"^#{1,6} +(.+?) *$", prose, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


@pytest.mark.parametrize("doc", DOCS)
def test_every_link_between_the_docs_resolves(doc):
    """A relative link names a file of the repository, and an anchor a heading of the doc it points to."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", DOCS[doc])):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (ROOT / doc).parent / path if path else ROOT / doc
        name = file.resolve().relative_to(ROOT).as_posix() if file.resolve().is_relative_to(ROOT) else str(file)
        if not file.exists():
            if name not in NOT_YET_WRITTEN:
                broken.append(f"{target}: no such file")
            continue
        if anchor and anchor not in _headings(file.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {name}")
    assert not broken, f"{doc}: {broken}"


def test_every_doc_is_in_the_readme_index():
    index = section("Documentation")
    unlisted = [doc for doc in DOCS if doc.startswith("docs/") and f"]({doc})" not in index]
    assert not unlisted, f"not linked from the README's Documentation list: {unlisted}"


def test_the_layout_lists_the_package_modules():
    layout = blocks("")[0].text  # the one unlabelled block, in whichever doc holds it
    listed = set(re.findall(r"^  ([\w]+(?:\.py|/))", layout, flags=re.MULTILINE))
    shipped = {p.name for p in (ROOT / "benchmark").glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    shipped |= {p.name + "/" for p in (ROOT / "benchmark").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert listed == shipped, f"not in the layout: {sorted(shipped - listed)}; gone: {sorted(listed - shipped)}"
    for module in ("sentence_pairs.py", "base.py", "training.py"):
        assert module in layout


def test_the_quickstart_figures_are_the_committed_reports():
    """The counts the docs quote for the quickstart come from the committed example report's records and
    board, so they cannot drift from it."""
    example = ROOT / "reports" / "quickstart"
    records = [json.loads(line) for line in (example / "records.jsonl").read_text().splitlines() if line.strip()]
    quoted = [(doc, m) for doc, text in DOCS.items()
              for m in re.finditer(r"to run its (\d+) runs, (\d+) of them classical baseline fits", text)]
    assert quoted, "no doc quotes the quickstart's runs"
    for doc, match in quoted:
        runs, fits = map(int, match.groups())
        assert (runs, fits) == (len(records), sum(bool(r.get("baseline")) for r in records)), doc
    suite = load_suite(ROOT / "suites" / "quickstart.yaml")
    seeds = {r["pretrain_seed"] for r in records if not r.get("baseline")}
    decided = json.loads((example / "leaderboard.json").read_text())["decisions"]["against_control"]
    rows = [line for text in DOCS.values() for line in text.splitlines() if line.startswith("| now |")]
    assert rows, "no doc has the quickstart's | now | row"
    budget = f"{suite.pretrain.budget:.1e}".replace("e+", "e")
    for now in rows:
        assert seeds == set(suite.pretrain.seeds) and now.startswith(f"| now | {len(seeds)} | {budget} |"), now
        assert f"{decided['decided']} of {decided['rows']} ({decided['share']:.0%})" in now, now


def test_the_top_of_the_readme_says_what_each_make_target_costs():
    """The first screen shows make quickstart, test and test-fast, each with its cost on one line of its own
    (``- `make TARGET`: ...``), so a new timing replaces exactly that line."""
    top = README.splitlines()[:25]
    for target in ("quickstart", "test", "test-fast"):
        assert any(line.startswith(f"make {target} ") for line in top), f"make {target} is not in the first 25 lines"
        costs = [line for line in top if line.startswith(f"- `make {target}`: ")]
        assert len(costs) == 1, f"make {target}: {len(costs)} cost lines in the first 25 lines"
        assert re.search(r"\d+(?:\.\d+)?(?:–\d+)? (?:s|min|minutes)\b", costs[0]), costs[0]


NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def test_the_readme_summary_counts_the_registries():
    text = section("What is compared")
    for label, reg in (("Objectives", registry.objectives), ("Tasks", registry.tasks),
                       ("Classical baselines", registry.baselines)):
        assert f"**{label}** ({len(reg.names())})" in text, f"the README's count of {label.lower()}"
    assert f"in {NUMBER_WORDS[len(registry.formats.names())]} formats" in text
    listed = text[text.index("**Objectives**"):text.index("**Models**")]
    assert set(re.findall(r"`(\w+)`", listed)) == set(registry.objectives.names())
    assert f"**Models** ({len(registry.models.names())})" in text, "the README's count of models"
    for name in registry.models.names():
        assert f"`{name}`" in text, f"the summary does not name model {name}"


# --- the example CI workflow ---------------------------------------------------------------------

def test_the_example_workflow_runs_the_fast_tests_before_the_gate():
    """docs/ci.md describes the workflow: install with make, make test-fast, then objbench check against
    the committed baseline."""
    import yaml

    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["check"]["steps"]
    runs = [step.get("run", "") for step in steps]
    first = {what: next((i for i, run in enumerate(runs) if what in run), None)
             for what in ("make install", "make test-fast", "objbench check")}
    assert None not in first.values(), first
    assert first["make install"] < first["make test-fast"] < first["objbench check"], first
    for i, run in enumerate(runs):
        for line in run.splitlines():
            words = shlex.split(line.rstrip("\\"), comments=True)
            if words[:1] == ["make"]:
                check_make(f"{WORKFLOW.name} step {i + 1}", [w for w in words[1:]])
    gate = " ".join(runs[first["objbench check"]].split())
    assert "objbench check suites/ci.yaml --baseline reports/ci/records.jsonl" in gate
    assert (ROOT / "reports" / "ci" / "records.jsonl").is_file()
