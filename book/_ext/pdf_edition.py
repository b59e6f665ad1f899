"""The PDF edition of the book (``make pdf``): the single-page HTML build printed by Chromium.

Jupyter Book 1.x offers two routes to a PDF. ``--builder pdflatex`` needs a TeX distribution
(about a gigabyte, not installable with pip, so not on a machine with only Python + pip).
``--builder pdfhtml`` prints the single-page HTML build with a browser that Playwright downloads
itself, which a closed network refuses. We take the second route with the Debian Chromium that
``make check-html`` already drives: what the reader sees in print is what the HTML shows, the
equations are typeset by the same bundled MathJax, and figures and equations keep the numbers of
the HTML book (``numfig``).

Input is the folder of ``jupyter-book build . --builder singlehtml``; that build reads the
executed notebooks from the same cache as the HTML book, so nothing is executed again. The page
is opened from disk with every request outside the folder blocked, MathJax finishes typesetting,
and the page is prepared for paper:

* the root page comes first, whole, with a list of the chapters where the HTML has its table of
  contents; each chapter follows on a new page; navigation, buttons and on-page contents are
  dropped;
* the exercise solutions (the folded "Solutions" box at the end of each chapter) are printed
  unfolded where they stand, at the end of their chapter (``--solutions show``, the default), or
  left out for a hand-out to students (``--solutions omit``);
* other folded content is unfolded; code keeps its lines (chapter code is at most 79 characters)
  and wraps only if a line would not fit the page.

Usage: ``python book/_ext/pdf_edition.py SINGLEHTML_DIR OUT.pdf [--solutions show|omit]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import headless

SOLUTIONS = ("show", "omit")

PRINT_CSS = """
@page { size: A4; }
html, body { font-size: 10.5pt; }
.bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .prev-next-area,
.bd-footer, .bd-footer-article, .bd-footer-content, #pst-back-to-top, .toggle-button,
.headerlink, #jb-print-toc, .skip-link { display: none !important; }
.bd-main .bd-content, .bd-article-container, .bd-article { margin: 0 !important;
  padding: 0 !important; max-width: none !important; }
.bd-container, .bd-container__inner, .bd-page-width { max-width: none !important; }
section.nqbook-chapter { break-before: page; }
ul.nqbook-contents a { text-decoration: none; }
section.nqbook-chapter > :is(h1, h2, h3, h4):first-of-type { font-size: 1.9em; margin-bottom: 0.8em; }
pre { font-size: 8.3pt !important; white-space: pre-wrap !important;
  overflow-wrap: anywhere; overflow: visible !important; }
div.cell_input, figure, .admonition { break-inside: avoid; }
.bd-main .bd-content table { break-inside: auto; }
tr { break-inside: avoid; }
img { max-height: 16cm; object-fit: contain; }
h1, h2, h3, p.caption, figcaption { break-after: avoid; }
"""

# Runs in the page after MathJax: mark chapters, unfold or drop the solutions, unfold the rest.
PREPARE_JS = """
(solutions) => {
  const article = document.querySelector('article.bd-article') || document.body;
  // the single-page builder marks where each document of the TOC starts, inside the root
  // page's table of contents: list the titles there and move the documents after the root page
  const chapters = Array.from(article.querySelectorAll('span[id^="document-"]'))
      .map(span => span.nextElementSibling).filter(e => e && e.tagName === 'SECTION');
  const title = s => s.querySelector('h1, h2, h3, h4');
  article.querySelectorAll('div.toctree-wrapper').forEach(wrapper => {
    const list = document.createElement('ul');
    list.className = 'nqbook-contents';
    wrapper.querySelectorAll('span[id^="document-"] + section').forEach(s => {
      const item = list.appendChild(document.createElement('li'));
      const link = item.appendChild(document.createElement('a'));
      link.href = '#' + s.id;
      link.textContent = title(s).textContent.replace('#', '').trim();
    });
    wrapper.replaceWith(list);
  });
  chapters.forEach(s => { s.classList.add('nqbook-chapter'); article.appendChild(s); });
  let dropped = 0, unfolded = 0;
  article.querySelectorAll('.admonition.dropdown, .admonition.toggle').forEach(box => {
    const title = box.querySelector('.admonition-title');
    const isSolution = title && /^\\s*Solutions?\\b/.test(title.textContent);
    if (isSolution && solutions === 'omit') { box.remove(); dropped += 1; return; }
    box.classList.remove('toggle-hidden', 'dropdown', 'toggle');
    box.querySelectorAll('.toggle-button').forEach(b => b.remove());
    if (isSolution) { unfolded += 1; }
  });
  article.querySelectorAll('details').forEach(d => { d.open = true; });
  const math = Array.from(article.querySelectorAll('.math'));
  return {
    chapters: chapters.map(s => title(s).textContent.replace('#', '').trim()),
    solutions_dropped: dropped, solutions_unfolded: unfolded,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).length, math: math.length,
    images_missing: Array.from(article.querySelectorAll('img'))
        .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')),
  };
}
"""

FOOTER = (
    '<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def print_book(html_dir, pdf_path, solutions="show", chromium="/usr/bin/chromium"):
    """Print the single-page HTML build in ``html_dir`` to ``pdf_path``; return what was done.

    Raises ``ValueError`` for a bad ``solutions`` choice, ``FileNotFoundError`` when the build or
    Chromium is missing, and ``RuntimeError`` when a request left the folder, math stayed
    untypeset or an image failed to load (the PDF would be wrong, so none is written).
    """
    if solutions not in SOLUTIONS:
        raise ValueError(f"solutions must be one of {SOLUTIONS}, got {solutions!r}")
    index = Path(html_dir).resolve() / "index.html"
    if not index.is_file():
        raise FileNotFoundError(
            f"no single-page build at {index}: run "
            "`jupyter-book build . --builder singlehtml` first (make pdf does)"
        )
    if not Path(chromium).exists():
        raise FileNotFoundError(
            f"Chromium not found at {chromium} (Debian: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    problems = []
    start = time.perf_counter()
    with sync_playwright() as pw:
        browser = headless.launch(pw, chromium)
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        page.on("pageerror", lambda exc: problems.append(f"uncaught exception in the page: {exc}"))
        headless.block_outside(page, index.parent.as_uri() + "/", problems)
        page.goto(_single_page(index).as_uri(), wait_until="load")
        page.evaluate(
            "async () => { if (window.MathJax && MathJax.startup) {"
            " await MathJax.startup.promise; } await document.fonts.ready; }"
        )
        page.add_style_tag(content=PRINT_CSS)
        done = page.evaluate(PREPARE_JS, solutions)
        if done["untypeset"]:
            problems.append(f"{done['untypeset']} of {done['math']} math elements not typeset")
        problems += [f"image did not load: {src}" for src in done["images_missing"]]
        if problems:
            browser.close()
            raise RuntimeError("not printing the book:\n  " + "\n  ".join(problems))
        page.emulate_media(media="print")
        Path(pdf_path).parent.mkdir(parents=True, exist_ok=True)
        page.pdf(
            path=str(pdf_path),
            format="A4",
            print_background=True,
            outline=True,
            tagged=True,
            margin={"top": "16mm", "bottom": "16mm", "left": "16mm", "right": "16mm"},
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=FOOTER,
        )
        browser.close()
    done["seconds"] = time.perf_counter() - start
    return done


def _single_page(index):
    """The whole book as one page at the top of the build folder, where its links point.

    Jupyter Book writes ``index.html`` as a redirect to the root document (``book/intro.html``),
    but Sphinx's single-page builder writes every link of that document (``_static/``,
    ``_images/``) relative to the top of the build folder. A copy at the top makes them resolve.
    """
    match = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index.read_text(), re.I)
    if match is None:
        return index
    page = index.with_name("nqbook-print.html")
    page.write_text((index.parent / match.group(1)).read_text())
    return page


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", help="the single-page build, e.g. _build/singlehtml")
    parser.add_argument("pdf", help="the PDF to write, e.g. _build/pdf/nqbook.pdf")
    parser.add_argument(
        "--solutions",
        choices=SOLUTIONS,
        default="show",
        help="print the exercise solutions at the end of each chapter, or omit them",
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    try:
        done = print_book(args.html_dir, args.pdf, args.solutions, args.chromium)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"pdf: {err}", file=sys.stderr)
        return 1
    what = "unfolded" if args.solutions == "show" else "omitted"
    count = done["solutions_unfolded"] if args.solutions == "show" else done["solutions_dropped"]
    print(
        f"pdf: {args.pdf}: {len(done['chapters'])} chapters, {done['math']} formulas, "
        f"{count} solution boxes {what}, printed in {done['seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
