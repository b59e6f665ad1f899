"""The repository's packaging stays consistent: environment.yml vs pyproject, notebooks, TOC."""

import tomllib
from pathlib import Path

import pytest
import yaml
from chapters import NOTEBOOKS, read
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _normalise(requirement):
    """'dask[distributed]>=1' -> {('dask', '>=1'), ('distributed', '>=1')} (conda has no extras)."""
    req = Requirement(requirement)
    names = {req.name, *req.extras}
    return {(name.lower().replace("_", "-"), str(req.specifier)) for name in names}


def _pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["book"] + extras["test"]
    return set().union(*(_normalise(r) for r in wanted))


def _conda_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):  # the pip section: packages conda-forge lacks, and nqlib itself
            out |= set().union(*(_normalise(d) for d in dep["pip"] if not d.startswith("-e")))
        elif dep.split("=")[0] not in ("python", "pip"):
            out |= _normalise(dep)
    return out


def test_environment_yml_matches_pyproject():
    pyproject, conda = _pyproject_requirements(), _conda_requirements()
    assert pyproject == conda, (
        f"only in pyproject: {sorted(pyproject - conda)}; "
        f"only in environment.yml: {sorted(conda - pyproject)}"
    )


def test_every_extra_that_runs_notebooks_pins_ipykernel_below_7():
    # ipykernel 7 intermittently loses the end of a cell (executions hang): the book extra
    # excludes it, and so must every extra a reader installs to run chapters
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for name in ("book", "cluster", "dev"):
        pins = {
            str(Requirement(r).specifier)
            for r in extras[name]
            if Requirement(r).name == "ipykernel"
        }
        assert pins == {"<7,>=6.29"}, f"extra {name!r}: ipykernel {pins or 'unpinned'}"


def test_jupyter_book_is_pinned_to_the_1x_line():
    assert ("jupyter-book", "<2,>=1.0.4") in _pyproject_requirements()


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "book/ holds no chapter notebook"


def test_chapters_are_markdown_notebooks_only():
    # one source per chapter: a stray .ipynb next to the .md would be a second, diverging copy
    # (and Sphinx would find two files for one page); make test generates its .ipynb elsewhere
    stray = sorted(p.name for p in (ROOT / "book").glob("*.ipynb"))
    assert not stray, f"book/ holds .ipynb files {stray}: chapters are book/*.md (jupytext myst)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapters_read_as_python_notebooks(path):
    nb = read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3", path.name
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst", path.name
    assert sum(c.cell_type == "code" for c in nb.cells) >= 2, f"{path.name}: no code cells"


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_lists_every_chapter_and_only_existing_files():
    files = _toc_files()
    for name in files:
        matches = [
            p
            for p in (ROOT / name).parent.glob(Path(name).name + ".*")
            if p.suffix in (".md", ".ipynb")
        ]
        assert matches, f"_toc.yml lists {name}, which does not exist"
    listed = {str(Path(f)) for f in files}
    for nb in NOTEBOOKS:
        assert str(nb.relative_to(ROOT).with_suffix("")) in listed, (
            f"{nb.name} is missing from _toc.yml"
        )
