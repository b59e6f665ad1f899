"""Check the PDF edition: ``make check-pdf`` (part of ``make test``) prints the quick build and runs this.

The PDF passes when

* it exists and has pages;
* every page of the TOC (intro, chapters, appendices, back matter) starts with its title, found
  in the extracted text (letters and digits compared, so line breaks and ligatures do not
  matter; the TeX part of a title such as "averages of $\\rho\\otimes\\rho$" is left out);
* no raw TeX is left in the text (``\\(``, ``\\)``, ``\\[``, ``\\]``, ``\\begin{``): MathJax typeset
  every formula before printing;
* figures are numbered as in the HTML book: every chapter with a figure has a caption
  "Fig. k.1" for its chapter number k;

(Python errors in cell outputs are checked on the HTML by ``check_html.py``: the PDF prints the
same executed notebooks, and in its text code and outputs cannot be told apart.)
Text comes from pypdf (pure Python, a test dependency), so no poppler install is needed.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import yaml
from chapters import is_notebook, read

ROOT = Path(__file__).resolve().parents[1]
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\\begin\{")
FIGURE = re.compile(r"Fig\.\s*(\d+)\.(\d+)")


def toc_titles(toc_path=ROOT / "_toc.yml"):
    """The title (first ``# `` heading) of every TOC page, in order, with its ``$...$`` parts removed."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    titles = []
    for name in files:
        text = (ROOT / (name + ".md")).read_text()  # chapters too are Markdown (MyST notebooks)
        heading = next(line[2:] for line in text.splitlines() if line.startswith("# "))
        titles.append(re.sub(r"\$[^$]*\$", " ", heading).strip())
    return titles


def _letters(text):
    """Letters and digits only, ligatures (the PDF's "ﬁ", "ﬀ") spelled out."""
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKC", text).lower())


def pdf_problems(pages, titles, figure_chapters=()):
    """What is wrong with a PDF whose pages have the extracted ``pages`` texts, as messages.

    ``figure_chapters``: chapter numbers whose first figure must be captioned "Fig. k.1".
    """
    if not pages:
        return ["the PDF has no pages"]
    text = "\n".join(pages)
    found = []
    letters = _letters(text)
    found += [f"title not found: {title!r}" for title in titles if _letters(title) not in letters]
    for number, page in enumerate(pages, start=1):
        match = RAW_TEX.search(page)
        if match:
            found.append(
                f"raw TeX on page {number}: ...{page[max(0, match.start() - 40) : match.end() + 40]}..."
            )
    numbered = {int(k) for k, first in FIGURE.findall(text) if first == "1"}
    found += [f"no figure captioned 'Fig. {k}.1'" for k in figure_chapters if k not in numbered]
    return found


def figure_chapters(toc_path=ROOT / "_toc.yml"):
    """Chapter numbers (as the book numbers them) of the TOC's notebooks that make a figure."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    files = [ch["file"] for part in toc["parts"] if part.get("numbered") for ch in part["chapters"]]
    numbers = []
    for number, name in enumerate(files, start=1):
        path = ROOT / (name + ".md")
        if is_notebook(path) and any(
            "caption" in c.metadata.get("mystnb", {}).get("figure", {}) for c in read(path).cells
        ):
            numbers.append(number)
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", help="the PDF edition, e.g. _build/quick/pdf/nqbook.pdf")
    args = parser.parse_args(argv)
    from pypdf import PdfReader

    if not Path(args.pdf).is_file():
        print(f"check-pdf: no PDF at {args.pdf}", file=sys.stderr)
        return 1
    pages = [page.extract_text() or "" for page in PdfReader(args.pdf).pages]
    found = pdf_problems(pages, toc_titles(), figure_chapters())
    for problem in found:
        print(f"FAIL {problem}")
    print(
        f"check-pdf: {args.pdf}: {len(pages)} pages, {'ok' if not found else f'{len(found)} problems'}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
