"""No copied code among the objective files: what objectives share lives once, in a base class or a helper.

Copies drift: a fix to one objective's loss or FLOPs that misses its twin silently makes two
entries of one comparison compute different things. A copy is found by its *shape*, so that a
renamed variable or a changed constant does not hide it. Each file is read with ``tokenize``;
every name becomes ``N``, every number and string ``L``; keywords, operators and brackets stay.
What remains is compared line by line (physical lines, so a long call wrapped over several
lines counts as several), and a run of ``WINDOW`` consecutive lines of the same shape in two
files is a copy.

Left out are the lines that compute nothing, so that only behaviour can match: comments, blank
lines, indentation and docstrings (statements that are only a string); imports, where a file
names what it depends on (two files using the same helpers import them in the same shape); and
decorator and ``class`` lines, which name and register a definition. Every entry file opens its
class with the same two (``@registry.objectives.register(...)``, ``class X(Base):``) followed by
its ``Params``, its ``kind`` and the ``prepare`` signature the interface fixes; counted, they
would make any two entries whose ``prepare`` starts alike a "copy" after a single line of code.
Method signatures still count: the same methods in the same order are what a copied class is.

The same rule applies inside each file, between runs that do not overlap, so shared code cannot
just move into one module (``base.py`` holding two copies of one method) and pass.
"""

from __future__ import annotations

import io
import keyword
import tokenize
from collections import defaultdict
from pathlib import Path

import pytest

from benchmark import registry
from benchmark.objectives.base import PretrainingObjective

OBJECTIVES = Path(__file__).resolve().parent.parent / "benchmark" / "objectives"
WINDOW = 6  # consecutive lines of the same shape that count as a copy

SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
           tokenize.ENDMARKER}
FSTRING_START, FSTRING_END = getattr(tokenize, "FSTRING_START", None), getattr(tokenize, "FSTRING_END", None)


def shape_of(token: tokenize.TokenInfo) -> str:
    if token.type == tokenize.NAME:
        return token.string if keyword.iskeyword(token.string) else "N"
    if token.type in (tokenize.NUMBER, tokenize.STRING):
        return "L"
    return token.string


def logical_lines(source: str) -> list[list[tokenize.TokenInfo]]:
    """The significant tokens of each statement; an f-string (split into parts from Python 3.12 on) is one token."""
    lines, current, in_fstring = [], [], 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == FSTRING_START:
            in_fstring += 1
            if in_fstring == 1:
                current.append(token._replace(type=tokenize.STRING))
        elif token.type == FSTRING_END:
            in_fstring -= 1
        elif in_fstring:
            continue
        elif token.type == tokenize.NEWLINE:
            lines.append(current)
            current = []
        elif token.type not in SKIPPED:
            current.append(token)
    return [line for line in lines + [current] if line]


def is_trivial(statement: list[tokenize.TokenInfo]) -> bool:
    """An import, a lone string (a docstring), a decorator or a ``class`` line: nothing an objective computes."""
    first = statement[0]
    return first.string in ("import", "from", "@", "class") or all(t.type == tokenize.STRING for t in statement)


def shaped_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, shape) of every physical line that holds code, in file order."""
    out = []
    for statement in logical_lines(path.read_text()):
        if is_trivial(statement):
            continue
        rows: dict[int, list[str]] = defaultdict(list)
        for token in statement:
            rows[token.start[0]].append(shape_of(token))
        out.extend((row, " ".join(parts)) for row, parts in rows.items())
    return out


def copies(files: list[Path]) -> list[str]:
    """Each repeated run, as far as it goes: in two files, or twice in one file without overlapping.

    Every run of ``WINDOW`` lines is keyed by its shapes; two runs with one key are a match, and
    matches that continue one another line for line are one copy.
    """
    lines = {path: shaped_lines(path) for path in files}
    runs: dict[tuple[str, ...], list[tuple[Path, int]]] = defaultdict(list)
    for path, shaped in lines.items():
        for i in range(len(shaped) - WINDOW + 1):
            runs[tuple(shape for _, shape in shaped[i:i + WINDOW])].append((path, i))
    matches = set()
    for places in runs.values():
        for a, (path_a, i) in enumerate(places):
            for path_b, j in places[a + 1:]:
                if path_a != path_b or j - i >= WINDOW:
                    matches.add((path_a, i, path_b, j))
    reported = []
    for path_a, i, path_b, j in sorted(matches):
        if (path_a, i - 1, path_b, j - 1) in matches:
            continue  # the middle of a copy reported from its start
        n = 0
        while (path_a, i + n + 1, path_b, j + n + 1) in matches:
            n += 1
        a, b = lines[path_a], lines[path_b]
        reported.append(f"{path_a.name}:{a[i][0]}-{a[i + n + WINDOW - 1][0]} and "
                        f"{path_b.name}:{b[j][0]}-{b[j + n + WINDOW - 1][0]}")
    return reported


def test_the_shape_reader_sees_through_renames_and_literals(tmp_path):
    a = tmp_path / "a.py"
    b = tmp_path / "b.py"
    a.write_text('"""Doc."""\nimport torch\n\n\ndef f(x):\n    y = x + 1  # one\n    return y\n')
    b.write_text('from torch import nn\n\n\ndef g(z):\n    """Other doc."""\n    w = z + 2.5\n\n    return w\n')
    assert [shape for _, shape in shaped_lines(a)] == [shape for _, shape in shaped_lines(b)] == [
        "def N ( N ) :", "N = N + L", "return N"]
    assert [row for row, _ in shaped_lines(b)] == [4, 6, 8]


def test_a_copy_is_found_across_files_and_within_one(tmp_path):
    body = "".join(f"    v{i} = u.m{i}(x, {i})\n" for i in range(WINDOW))
    (tmp_path / "one.py").write_text(f"def f(u, x):\n{body}    return v0\n")
    (tmp_path / "two.py").write_text(f"def g(u, x):\n{body.replace('v', 'q')}    return q1\n")
    assert copies([tmp_path / "one.py", tmp_path / "two.py"]) == ["one.py:1-8 and two.py:1-8"]
    (tmp_path / "three.py").write_text(f"def f(u, x):\n{body}\n\ndef g(u, x):\n{body}")
    assert copies([tmp_path / "three.py"]), "a copy inside one file is a copy"
    (tmp_path / "four.py").write_text("def f(u, x):\n" + "    x = x + 1\n" * (WINDOW + 1))
    assert not copies([tmp_path / "four.py"]), "overlapping runs of one repeated line are not a copy"


@pytest.mark.parametrize("path", sorted(OBJECTIVES.glob("*.py")), ids=lambda p: p.name)
def test_every_objective_file_is_read(path):
    assert shaped_lines(path) or path.name == "__init__.py"


def test_no_two_objective_files_share_a_run_of_lines():
    found = copies(sorted(OBJECTIVES.glob("*.py")))
    assert not found, (f"{len(found)} runs of {WINDOW}+ lines of the same shape (names and literals aside): "
                       "move the shared code into objectives/base.py or a helper module\n  " + "\n  ".join(found))


@pytest.mark.parametrize("name", [n for n in registry.objectives.names() if registry.objectives.get(n).pretrains])
def test_every_pretraining_objective_is_built_on_a_base_class(name):
    """What is shared is inherited, not rewritten: every pretraining entry derives from ``PretrainingObjective``."""
    assert issubclass(registry.objectives.get(name), PretrainingObjective)
