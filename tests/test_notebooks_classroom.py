"""Every chapter notebook has the book's classroom features (issue 10).

Checked for every chapter (``book/*.md``, MyST notebooks; see ``chapters.py``), from its source
(nothing is executed except the install cell, with pip replaced by a recorder):

* the first cell is the markdown title; the first code cell is the install cell: tagged
  ``remove-cell`` (it runs in the build, the HTML leaves it out), a no-op where nqlib is
  importable; otherwise it installs the nqbook checkout around the notebook (editable) or, outside
  any checkout, the repository of ``_config.yml``;
* a learning-objectives admonition (``:class: tip``) comes before the first other code cell;
* an ``## Exercises`` section with 3-5 numbered exercises, a ``:class: dropdown`` solutions
  admonition with one numbered solution per exercise, and at least one "Predict, then run" exercise;
* figure cells carry myst-nb metadata: ``mystnb.figure.caption``, ``mystnb.figure.name``
  (``fig-...``, unique across the book) and ``mystnb.image.alt``;
* ``run_ensemble`` is called without ``executor=`` and ``cache=``, so that every chapter follows
  ``NQLIB_EXECUTOR`` and ``NQLIB_CACHE`` (one setting sends the whole book to a cluster);
* every line of every code cell has at most ``CODE_COLUMNS`` = 79 characters: the rendered column
  shows that many (``book/_ext/static/nqbook.css``; ``make check-html`` checks in the browser that
  no code block scrolls sideways), and the PDF edition prints them without wrapping.

**Which cells are figure cells.** A code cell is a figure cell when, outside any ``def``/``class``
(found with ``ast``, so strings and comments do not count), it calls ``plt.show`` or one of the
notebook's own top-level functions whose body calls ``plt.show`` (a plotting helper), or it creates a
pyplot figure (``plt.subplots``, ``plt.figure``, ``plt.subplot_mosaic``) -- unless it calls
``plt.close``: a cell that draws only to check numbers closes its figures and shows nothing. The
house style shows every figure with one ``plt.show()``; a figure cell must contain exactly one, as a
statement of the cell's top level (not in a loop or branch): myst-nb wraps *every* image output of
a cell in a figure with the cell's name, so a second image would duplicate the name (a Sphinx
error) and a missing ``plt.show()`` would leave the figure to the inline backend. A function that
only draws (an explorer's callback) is not called directly at top level; such callbacks run under
``ipywidgets.interact`` in a cell tagged ``remove-output``, and a later check cell drives them
through ``ipywidgets.interactive``.
"""

import ast
import re
import subprocess
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import yaml
from chapters import NOTEBOOKS, read

ROOT = Path(__file__).resolve().parents[1]
INSTALL_MARKER = 'find_spec("nqlib")'
FIGURE_CALLS = {"show", "subplots", "figure", "subplot_mosaic", "close"}
NUMBERED = re.compile(r"^\d+\.\s", re.M)
OBJECTIVES = re.compile(r"```\{admonition\} Learning objectives\s*\n:class: tip")
SOLUTIONS = re.compile(r"```\{admonition\} Solutions?\s*\n:class: dropdown\s*\n(.*?)\n```", re.S)
PREDICT = re.compile(r"predict,? then run", re.I)
FIGURE_NAME = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)*$")
CODE_COLUMNS = 79


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parse(source):
    lines = [
        "pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    ]
    return ast.parse("\n".join(lines))


def _is_plt_show(node):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "show"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "plt"
    )


def plotting_functions(nb):
    """Names of the notebook's own top-level functions that show a figure (call plt.show())."""
    names = set()
    for cell in code_cells(nb):
        for stmt in _parse(cell.source).body:
            if isinstance(stmt, ast.FunctionDef) and any(_is_plt_show(n) for n in ast.walk(stmt)):
                names.add(stmt.name)
    return names


def _shows(node, plotters):
    """A call that shows a figure: plt.show() or a call of one of the notebook's plotting functions."""
    return _is_plt_show(node) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in plotters
    )


def _top_level_plt_calls(source, plotters=frozenset()):
    """(calls of plt.<FIGURE_CALLS> outside def/class, figure-showing statements directly in the body);
    a call of a notebook plotting function counts as ``show``."""
    tree = _parse(source)
    calls = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id == "plt"
                and child.func.attr in FIGURE_CALLS
            ):
                calls.append(child.func.attr)
            elif _shows(child, plotters):
                calls.append("show")
            visit(child)

    visit(tree)
    body_shows = sum(
        1 for stmt in tree.body if isinstance(stmt, ast.Expr) and _shows(stmt.value, plotters)
    )
    return calls, body_shows


def is_figure_cell(cell, plotters=frozenset()):
    """A cell that shows a figure: plt.show() or a call of a notebook plotting function, or a pyplot
    figure created and not closed."""
    if cell.cell_type != "code":
        return False
    calls = _top_level_plt_calls(cell.source, plotters)[0]
    return "close" not in calls and any(c != "close" for c in calls)


def exercise_problems(nb):
    """Problems with the exercises section, as messages."""
    cells = [
        c.source
        for c in nb.cells
        if c.cell_type == "markdown" and re.search(r"^## Exercises\s*$", c.source, re.M)
    ]
    if len(cells) != 1:
        return [f"expected one '## Exercises' section, found {len(cells)}"]
    text = cells[0][re.search(r"^## Exercises\s*$", cells[0], re.M).end() :]
    solutions = SOLUTIONS.search(text)
    if solutions is None:
        return [
            "no '```{admonition} Solutions' block with ':class: dropdown' in the exercises cell"
        ]
    exercises = text[: solutions.start()]
    items = NUMBERED.split(exercises)[1:]
    problems = []
    if not 3 <= len(items) <= 5:
        problems.append(f"{len(items)} exercises, expected 3-5")
    n_solutions = len(NUMBERED.findall(solutions.group(1)))
    if n_solutions != len(items):
        problems.append(f"{len(items)} exercises but {n_solutions} numbered solutions")
    if not any(PREDICT.search(item) for item in items):
        problems.append("no 'Predict, then run' exercise")
    return problems


def figure_problems(nb):
    """Problems with figure cells and their myst-nb metadata, as messages."""
    problems = []
    plotters = plotting_functions(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if not is_figure_cell(cell, plotters):
            if figure:
                problems.append(f"cell {k} has figure metadata but draws no figure")
            continue
        _, shows = _top_level_plt_calls(cell.source, plotters)
        if shows != 1:
            problems.append(
                f"figure cell {k} has {shows} top-level plt.show() statements, expected 1"
            )
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        if not str(figure.get("caption", "")).strip():
            problems.append(f"figure cell {k} has no mystnb.figure.caption")
        if not FIGURE_NAME.match(str(figure.get("name", ""))):
            problems.append(
                f"figure cell {k}: mystnb.figure.name {figure.get('name')!r} is not 'fig-...'"
            )
        if not str(alt).strip():
            problems.append(f"figure cell {k} has no mystnb.image.alt")
        elif alt.strip() == str(figure.get("caption", "")).strip():
            problems.append(f"figure cell {k}: the alt text repeats the caption")
    return problems


def install_problems(nb):
    """Problems with the title cell and the install cell, as messages."""
    if (
        not nb.cells
        or nb.cells[0].cell_type != "markdown"
        or not nb.cells[0].source.lstrip().startswith("# ")
    ):
        return ["the first cell is not the markdown title ('# ...')"]
    first = code_cells(nb)[0] if code_cells(nb) else None
    if first is None or INSTALL_MARKER not in first.source:
        return ["the first code cell is not the nqlib install cell"]
    if "remove-cell" not in first.metadata.get("tags", []):
        return ["the install cell is not tagged remove-cell"]
    return []


def objectives_problems(nb):
    """The learning objectives must come before the first code cell other than the install cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and OBJECTIVES.search(cell.source):
            return []
        if cell.cell_type == "code" and INSTALL_MARKER not in cell.source:
            break
    return ["no 'Learning objectives' admonition (:class: tip) before the first code cell"]


def width_problems(nb):
    """Code lines longer than ``CODE_COLUMNS`` characters, as messages."""
    return [
        f"code cell {k}, line {n}: {len(line)} characters > {CODE_COLUMNS}: {line[:50]!r}..."
        for k, cell in enumerate(code_cells(nb))
        for n, line in enumerate(cell.source.splitlines(), 1)
        if len(line) > CODE_COLUMNS
    ]


def ensemble_problems(nb):
    """``run_ensemble`` calls that fix their executor or cache (the session settings would be ignored)."""
    problems = []
    for k, cell in enumerate(code_cells(nb)):
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("run_ensemble"):
                fixed = sorted({kw.arg for kw in node.keywords} & {"executor", "cache"})
                if fixed:
                    problems.append(
                        f"code cell {k}, line {node.lineno}: run_ensemble(... {', '.join(fixed)}=...)"
                        " overrides NQLIB_EXECUTOR / NQLIB_CACHE"
                    )
    return problems


def chapter_problems(nb):
    """Every rule of this file for one notebook, as a list of messages (empty: all hold)."""
    return (
        install_problems(nb)
        + objectives_problems(nb)
        + exercise_problems(nb)
        + figure_problems(nb)
        + width_problems(nb)
        + ensemble_problems(nb)
    )


def figure_names(paths):
    """Counter of mystnb figure names over the given notebooks."""
    return Counter(
        c.metadata["mystnb"]["figure"]["name"]
        for path in paths
        for c in code_cells(read(path))
        if "name" in c.metadata.get("mystnb", {}).get("figure", {})
    )


def _read(path):
    return read(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_then_install_cell(path):
    assert install_problems(_read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_learning_objectives_at_the_top(path):
    assert objectives_problems(_read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_with_folded_solutions_and_a_prediction(path):
    assert exercise_problems(_read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_caption_name_and_alt_text(path):
    assert figure_problems(_read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_rendered_column(path):
    assert width_problems(_read(path)) == []


def test_width_rule_counts_characters_per_line():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("x" * 200),  # prose wraps: not a code line
            nbformat.v4.new_code_cell("a = 1\n" + "b" * CODE_COLUMNS + "\n" + "é" * CODE_COLUMNS),
            nbformat.v4.new_code_cell("pass\n" + "c" * (CODE_COLUMNS + 1)),
        ]
    )
    problems = width_problems(nb)
    assert len(problems) == 1 and problems[0].startswith("code cell 1, line 2: 80 characters"), (
        problems
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ensembles_follow_the_session_settings(path):
    assert ensemble_problems(_read(path)) == []


def test_ensemble_rule_finds_a_fixed_executor_or_cache():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("r = run_ensemble(f, 4, seed=1, L=8)"),
            nbformat.v4.new_code_cell(
                "# run_ensemble(f, 4, seed=1, cache='x') in a comment is fine\n"
                "r = ensemble.run_ensemble(\n    f, 4, seed=1, cache='c', L=8)"
            ),
            nbformat.v4.new_code_cell(
                "r = nqlib.ensemble.run_ensemble(f, 4, seed=1, executor=pool)"
            ),
        ]
    )
    problems = ensemble_problems(nb)
    assert len(problems) == 2, problems
    assert problems[0].startswith("code cell 1, line 2:") and "cache=" in problems[0]
    assert problems[1].startswith("code cell 2, line 1:") and "executor=" in problems[1]


def test_figure_names_are_unique_across_the_book():
    repeated = {name: k for name, k in figure_names(NOTEBOOKS).items() if k > 1}
    assert not repeated, f"figure names used more than once: {repeated}"


def _run_install_cell(source, monkeypatch, nqlib_found, cwd=ROOT / "book"):
    """Execute the install cell in ``cwd`` with pip replaced by a recorder; return the commands."""
    import importlib.util
    import sys

    calls = []
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(subprocess, "check_call", lambda cmd, *a, **k: calls.append(cmd) or 0)
    if not nqlib_found:
        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "nqlib" else real(name, *a),
        )
    exec(compile(source, "<install cell>", "exec"), {"__name__": "__main__"})
    return calls


def test_install_cell_is_one_text_in_every_chapter():
    """The install cell runs before nqlib is importable (a chapter opened alone on Colab has to
    install it first), so it cannot live in nqlib and every chapter carries a copy: the one
    duplicate that the duplicate-code scan of the chapters lists by design (issue 17). The copies
    stay identical, source and tags, so that it remains one object with one test below."""
    copies = {}
    for path in NOTEBOOKS:
        cell = code_cells(_read(path))[0]
        key = (cell.source, tuple(cell.metadata.get("tags", ())))
        copies.setdefault(key, []).append(path.name)
    assert len(copies) == 1, [names for names in copies.values()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_install_cell_is_a_no_op_here_and_installs_elsewhere(path, monkeypatch, tmp_path):
    cells = code_cells(_read(path))
    if not cells or INSTALL_MARKER not in cells[0].source:
        pytest.fail(f"{path.name}: the first code cell is not the install cell")
    source = cells[0].source
    assert _run_install_cell(source, monkeypatch, nqlib_found=True) == []
    # a kernel without nqlib in a checkout (a system Jupyter opened on book/): this checkout
    calls = _run_install_cell(source, monkeypatch, nqlib_found=False)
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"], calls
    assert calls[0][-2:] == ["-e", str(ROOT)], calls
    # outside any checkout (Colab, a JupyterHub): the repository of _config.yml
    calls = _run_install_cell(source, monkeypatch, nqlib_found=False, cwd=tmp_path)
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"], calls
    assert calls[0][-1].startswith(f"nqlib @ git+{url}"), calls
