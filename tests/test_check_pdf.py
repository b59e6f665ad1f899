"""The text rules of tests/check_pdf.py and the argument checks of book/_ext/pdf_edition.py.

The printing itself needs Chromium and runs in ``make check-pdf`` (part of ``make test``).
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(ROOT / "book" / "_ext"))  # pdf_edition imports the shared headless module
check_pdf = _load("check_pdf", ROOT / "tests" / "check_pdf.py")
pdf_edition = _load("pdf_edition", ROOT / "book" / "_ext" / "pdf_edition.py")

TITLES = ["The driven diffusive chain", "The abc model: averages of"]
GOOD = [
    "The driven di\ufb00u-\nsive chain\nFig. 1.1 The density profile",
    "2. The abc\nmodel: averages of ρ⊗ρ",
]


def test_a_good_pdf_passes():
    assert check_pdf.pdf_problems(GOOD, TITLES, figure_chapters=[1]) == []


def test_missing_pages_and_titles_are_found():
    assert check_pdf.pdf_problems([], TITLES) == ["the PDF has no pages"]
    problems = check_pdf.pdf_problems(GOOD[:1], TITLES)
    assert problems == ["title not found: 'The abc model: averages of'"]


@pytest.mark.parametrize(
    "raw", [r"the profile \(n(x)\)", r"\[ S = \int \]", r"\begin{aligned} a \end{aligned}"]
)
def test_raw_tex_is_found_with_its_page(raw):
    problems = check_pdf.pdf_problems(GOOD + [raw], TITLES)
    assert len(problems) == 1 and problems[0].startswith("raw TeX on page 3"), problems


def test_unnumbered_figures_are_found():
    problems = check_pdf.pdf_problems(
        GOOD + ["Fig. 2 A figure", "see Fig. 2.3"], TITLES, figure_chapters=[1, 2]
    )
    assert problems == ["no figure captioned 'Fig. 2.1'"]


def test_toc_titles_drop_the_tex_of_a_title():
    titles = check_pdf.toc_titles()
    assert titles[0].startswith("nqbook")
    assert "The abc model: averages of" in titles
    assert not any("$" in title for title in titles)


def test_figure_chapters_follow_the_numbered_parts():
    numbers = check_pdf.figure_chapters()
    assert numbers[0] == 1 and numbers == sorted(set(numbers)) and len(numbers) >= 9


def test_print_book_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="solutions must be one of"):
        pdf_edition.print_book(tmp_path, tmp_path / "x.pdf", solutions="all")
    with pytest.raises(FileNotFoundError, match="no single-page build"):
        pdf_edition.print_book(tmp_path, tmp_path / "x.pdf")
