"""The text rules of tests/check_html.py (the browser part runs in `make check-html`)."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "check_html", Path(__file__).with_name("check_html.py")
)
check_html = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_html)


@pytest.mark.parametrize(
    "text",
    [
        "the profile $n(x) = 1 - x$ is linear",
        "display $$E = mc^2$$ here",
        r"inline \(x^2\) left raw",
        r"a raw \[ \int f \] block",
        r"\begin{aligned} a &= b \end{aligned}",
    ],
)
def test_raw_math_is_found(text):
    assert check_html.raw_math(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "typeset prose with no TeX at all",
        "a price of 5 $ and nothing else",
        "two dollars $ apart $",  # a space after the opening $ is not TeX in MyST dollarmath either
    ],
)
def test_plain_text_is_not_raw_math(text):
    assert check_html.raw_math(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Traceback (most recent call last):\n  File ...",
        "ValueError: L must be >= 2",
        "numba.core.errors.TypingError: failed",
    ],
)
def test_python_errors_are_found(text):
    assert check_html.python_error(text) is not None


@pytest.mark.parametrize(
    "text", ["sigma = 4.90 +- 0.08", "standard error of the mean 0.01", "max |dpsi| = 1e-14"]
)
def test_ordinary_outputs_pass(text):
    assert check_html.python_error(text) is None


def test_figure_alt_text_rules():
    assert check_html.figure_alt_problem("", "a.png")
    assert check_html.figure_alt_problem(None, "a.png")
    assert check_html.figure_alt_problem("../_images/abc.png", "../_images/abc.png")
    assert check_html.figure_alt_problem("Two panels of falling lines versus x.", "a.png") is None


def test_toc_pages_lists_root_then_chapters():
    pages = check_html.toc_pages()
    assert pages[0] == "book/intro"
    assert "book/ssep" in pages and "book/bibliography" in pages
    assert len(pages) == len(set(pages))


def _chapter_html(colab_branch_path, binder_path="book/ssep.md"):
    return (
        '<a href="../_sources/book/ssep.ipynb">.ipynb</a>'
        f'<a href="https://colab.research.google.com/github/o/r/blob/{colab_branch_path}">Colab</a>'
        f'<a href="https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/{binder_path}">Binder</a>'
    )


def test_launch_buttons_must_reach_existing_notebooks(tmp_path):
    (tmp_path / "_sources" / "book").mkdir(parents=True)
    (tmp_path / "_sources" / "book" / "ssep.ipynb").write_text("{}")
    good = _chapter_html("gh-pages/_sources/book/ssep.ipynb")
    assert check_html.launch_problems(good, tmp_path, "book/ssep") == []
    # the theme's own target for a Markdown chapter: the .md in the repository, which Colab cannot open
    stale = _chapter_html("main/book/ssep.md")
    assert any("Colab opens" in p for p in check_html.launch_problems(stale, tmp_path, "book/ssep"))
    missing = _chapter_html("gh-pages/_sources/book/ssep.ipynb", binder_path="book/nothing.md")
    assert any(
        "not in the repository" in p
        for p in check_html.launch_problems(missing, tmp_path, "book/ssep")
    )
    (tmp_path / "_sources" / "book" / "ssep.ipynb").unlink()
    assert any(
        "missing from the site" in p
        for p in check_html.launch_problems(good, tmp_path, "book/ssep")
    )
