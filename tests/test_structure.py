"""The package's structure: no import circle, data flowing one way, a harness that reads in one sitting,
and registration that refuses an incomplete format."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.metric_spec import MetricSpec

PACKAGE = Path(__file__).resolve().parents[1] / "benchmark"
MAX_HARNESS_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The project modules that ``name`` imports anywhere in its file, inside functions too.

    ``from a import b`` is an import of ``a.b`` when that is a module, else of ``a``; importing
    ``a.b`` does not count as importing the package ``a`` (Python runs ``a/__init__`` first, but
    the dependency is on ``a.b``).
    """
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: a component of two or more modules is an import circle."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_is_read():
    # guards the test itself: a parser that found no edges would find no circle either
    assert "benchmark.registry" in GRAPH["benchmark.objectives.mlm"]
    assert "benchmark.corpus_config" in GRAPH["benchmark.tasks.base"]
    assert "benchmark.formats.training" in GRAPH["benchmark.formats.classification"]
    assert {"benchmark.objectives", "benchmark.tasks", "benchmark.formats", "benchmark.models"} <= GRAPH["benchmark"]
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"], ["d"]]


def test_no_import_circle_among_the_package_modules():
    circles = [c for c in strongly_connected(GRAPH) if len(c) > 1]
    assert not circles, f"import circles: {circles}"


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in GRAPH[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_the_report_modules_import_no_training_code():
    # Static: the report's own modules reach only the store and leaf modules. At run time
    # `import benchmark` registers every entry first (the package imports them), by design.
    allowed = {"benchmark.errors", "benchmark.results", "benchmark.metric_spec", "benchmark.files", "benchmark.paths"}
    for name in (n for n in GRAPH if n.startswith("benchmark.report")):
        outside = {m for m in _reachable(name) if not m.startswith("benchmark.report")} - allowed
        assert not outside, f"{name} reaches {sorted(outside)}"


def test_training_code_never_formats_tables():
    for name in ("benchmark.harness", "benchmark.plan", "benchmark.objectives", "benchmark.formats", "benchmark.tasks"):
        assert not any(m.startswith("benchmark.report") for m in _reachable(name)), name


def test_the_registry_and_the_config_import_no_entry():
    entries = ("benchmark.objectives", "benchmark.tasks", "benchmark.formats", "benchmark.models")
    for name in ("benchmark.registry", "benchmark.config", "benchmark.corpus_config"):
        assert not any(m.startswith(entries) for m in _reachable(name)), name


def test_harness_functions_read_in_one_sitting():
    tree = ast.parse(MODULES["benchmark.harness"].read_text())
    lengths = {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert len(lengths) >= 10  # the pretraining step is split where its state changes hands
    too_long = {name: n for name, n in lengths.items() if n > MAX_HARNESS_FUNCTION_LINES}
    assert not too_long, too_long


def test_every_registered_format_declares_its_primary_metric():
    assert registry.formats.names() == sorted({registry.tasks.get(t).format for t in registry.tasks.names()}
                                              | set(registry.formats.names()))
    for name in registry.formats.names():
        spec = registry.formats.get(name).primary_metric
        assert isinstance(spec, MetricSpec) and spec.max_value > 0, name


def test_every_registered_format_declares_an_unbounded_companion_beside_its_primary_metric():
    for name in registry.formats.names():
        fmt = registry.formats.get(name)
        companion = fmt.companion_metric
        assert isinstance(companion, MetricSpec) and companion.name != fmt.primary_metric.name, name
        assert companion.max_value is None and not companion.bounded and companion.higher_is_better, name
        with pytest.raises(ValueError, match="unbounded"):
            companion.normalize(-1.0)  # a log-probability never reaches the report's 0..1 scale


def test_a_format_without_a_primary_metric_cannot_register():
    class NoMetric:
        finetunes = False

        def unsupported(self, kind):
            return None

        def build(self, *args):
            return None

        def evaluate(self, *args):
            return {}, {}

    with pytest.raises(ObjbenchError) as err:
        registry.formats.register("structure_test_no_metric")(NoMetric)
    message = str(err.value)
    assert "structure_test_no_metric" in message and "primary_metric" in message and "\n" not in message
    assert "structure_test_no_metric" not in registry.formats

    NoMetric.primary_metric = MetricSpec("log_likelihood", max_value=None)
    with pytest.raises(ObjbenchError, match="primary_metric 'log_likelihood' has no max_value"):
        registry.formats.register("structure_test_unbounded_primary")(NoMetric)

    NoMetric.primary_metric = MetricSpec("accuracy")
    with pytest.raises(ObjbenchError, match="declares no companion_metric"):
        registry.formats.register("structure_test_no_companion")(NoMetric)
    NoMetric.companion_metric = MetricSpec("accuracy", max_value=None)
    with pytest.raises(ObjbenchError, match="companion_metric is its primary_metric"):
        registry.formats.register("structure_test_same_companion")(NoMetric)

    NoMetric.companion_metric = MetricSpec("gold_logprob", max_value=None)
    NoMetric.finetunes = True  # a format that finetunes must say how
    with pytest.raises(ObjbenchError, match="lacks finetune"):
        registry.formats.register("structure_test_no_finetune")(NoMetric)
    assert not any(name.startswith("structure_test_") for name in registry.formats.names())


@pytest.mark.slow  # a fresh interpreter
def test_a_format_module_without_a_primary_metric_fails_at_import(tmp_path):
    (tmp_path / "my_format.py").write_text(textwrap.dedent("""
        from benchmark import registry

        @registry.formats.register("my_format")
        class MyFormat:
            finetunes = False

            def unsupported(self, kind):
                return None

            def build(self, entry, checkpoint, setup, split, kind):
                return None

            def evaluate(self, model, split, tokenizer, recipe, kind, device, precision):
                return {}, {}
    """))
    result = subprocess.run([sys.executable, "-c", "import my_format"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("benchmark.errors.ObjbenchError: format 'my_format' cannot register")
    assert "primary_metric" in last
