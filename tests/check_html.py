"""Check the rendered book in a real browser: ``make check-html`` runs this after a quick build.

Serves the built HTML on 127.0.0.1 and drives headless Chromium (Playwright, the system's
Chromium) through every page listed in ``_toc.yml`` with **every request outside the site
blocked**, as for a reader without network. A page passes when

* it is served with HTTP 200, asks for nothing outside the site, and raises no console error or
  uncaught exception;
* MathJax (bundled into ``_static/mathjax`` by ``book/_ext``) has typeset it: every ``.math``
  element holds an ``mjx-container`` and no raw ``$...$``, ``\\(``, ``\\[`` or ``\\begin{`` is
  left in the prose;
* every ``<img>`` has loaded (``naturalWidth > 0``) and figures carry a real alt text (not a
  file name), the book's accessibility minimum;
* no code block (cell input or output, literal block) is wider than the text column, i.e. none
  scrolls horizontally (``scrollWidth > clientWidth``) at the 1280 x 900 window;
* no cell output shows a Python traceback or an ``...Error``;
* every internal link resolves (HTTP 200 for the target file, and the ``#anchor`` exists);
* the navigation sidebar lists every chapter of the TOC;
* every chapter (a MyST notebook) offers its executed notebook as ``.ipynb`` and launch buttons
  whose targets exist: Colab's in the published site (``_sources/book/<chapter>.ipynb``, see
  ``book/_ext/nqbook_html.py``), Binder's and JupyterHub's in the repository (``book/<chapter>.md``).

Then every page is opened once more from disk (``file://``, still with no network), as a
downloaded copy is read: its math must typeset, its images load, and no console error appear.
A full-page screenshot of every served page goes to ``--screenshots``. Exit status 0 only if
every page passes.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml
from chapters import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import headless  # noqa: E402  (the book's Chromium settings, shared with the PDF edition)

RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\$|\$[^\s$][^$\n]*\$")
PY_ERROR = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*Error\b")


def toc_pages(toc_path=ROOT / "_toc.yml"):
    """Page paths (no suffix) in TOC order: the root, then every chapter of every part."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def raw_math(text):
    """The first piece of un-typeset TeX in ``text`` (prose with code removed), or None."""
    match = RAW_MATH.search(text)
    return None if match is None else text[max(0, match.start() - 30) : match.end() + 30]


def python_error(text):
    """The first traceback or ``...Error`` in a cell output's text, or None."""
    match = PY_ERROR.search(text)
    return None if match is None else text[max(0, match.start() - 60) : match.end() + 60]


def figure_alt_problem(alt, src):
    """Why a content image's alt text is not acceptable, or None."""
    if not alt or not alt.strip():
        return f"image {src} has no alt text"
    if re.search(r"\.(png|svg|jpe?g)$", alt.strip()) or alt.strip() == src:
        return f"image {src} has a file name as alt text: {alt!r}"
    return None


# JavaScript evaluated in each page: everything the checks need, in one round trip
_PAGE_FACTS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const main = document.querySelector('main') || document.body;
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .cell_output, .highlight, .math')
       .forEach(e => e.remove());
  const images = Array.from(main.querySelectorAll('img')).map(img => ({
      src: img.getAttribute('src'), alt: img.getAttribute('alt'), complete: img.complete,
      width: img.naturalWidth, output: img.closest('.cell_output') !== null }));
  const math = Array.from(main.querySelectorAll('.math'));
  return {
    title: document.title,
    prose: prose.innerText,
    outputs: Array.from(main.querySelectorAll('.cell_output')).map(e => e.innerText),
    overflow: Array.from(main.querySelectorAll('pre, div.highlight'))
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => e.innerText.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')),
    images: images,
    math: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    sidebar: Array.from(document.querySelectorAll('nav.bd-docs-nav a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  };
}
"""


LAUNCH_LINK = re.compile(r'href="(https://[^"]*(?:colab|binder|jupyterhub)[^"]*)"')


def launch_problems(html, html_dir, page):
    """What is wrong with the download and launch buttons of the chapter ``page`` (its HTML text)."""
    found = []
    ipynb = "_sources/" + page + ".ipynb"
    if ipynb not in html:
        found.append(f"no .ipynb download button ({ipynb})")
    elif not (Path(html_dir) / ipynb).is_file():
        found.append(f"the .ipynb download {ipynb} is missing from the site")
    links = [urllib.parse.unquote(u.replace("&amp;", "&")) for u in LAUNCH_LINK.findall(html)]
    colab = [u for u in links if "colab.research.google.com" in u]
    if not colab:
        found.append("no Colab button")
    for (
        url
    ) in colab:  # .../github/ORG/REPO/blob/BRANCH/PATH: PATH must be a file of the published site
        target = url.split("/blob/", 1)[1].split("/", 1)[1] if "/blob/" in url else ""
        if not target.endswith(".ipynb") or not (Path(html_dir) / target).is_file():
            found.append(f"Colab opens {url}, which the published site does not contain")
    for url in links:  # Binder, JupyterHub: urlpath=lab/tree/[REPO/]PATH in the repository
        match = re.search(r"urlpath=lab/tree/(\S+?)(?:&|$)", url)
        if match and not any((ROOT / match.group(1).split("/", k)[-1]).is_file() for k in (0, 1)):
            found.append(f"{url} opens {match.group(1)}, which is not in the repository")
    return found


def check_site(html_dir, screenshots, chromium, pages=None):
    """Check every TOC page of the site in ``html_dir``; return {page: [problems]}."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir).resolve()
    pages = toc_pages() if pages is None else pages
    screenshots = Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    server, base = _serve(html_dir)
    problems = {name: [] for name in pages}
    chapters = {str(p.relative_to(ROOT).with_suffix("")) for p in NOTEBOOKS}
    status_cache = {}
    ids_cache = {}
    try:
        with sync_playwright() as pw:
            browser = headless.launch(pw, chromium)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for name in pages:
                page, found = _open(context, base + name + ".html", base, problems[name])
                if page is None:
                    continue
                facts = page.evaluate(_PAGE_FACTS)
                page.screenshot(
                    path=str(screenshots / (name.replace("/", "__") + ".png")), full_page=True
                )
                ids_cache[page.url] = set(facts["ids"])
                found += _check_facts(facts, pages, base, page.url, status_cache, ids_cache, page)
                if name in chapters:
                    found += launch_problems(
                        (html_dir / (name + ".html")).read_text(), html_dir, name
                    )
                page.close()
            for name in pages:  # the same pages read from disk, as a downloaded copy
                url = (html_dir / (name + ".html")).as_uri()
                page, found = _open(
                    context, url, html_dir.as_uri() + "/", problems[name], "file://"
                )
                if page is None:
                    continue
                facts = page.evaluate(_PAGE_FACTS)
                found += [f"file://: {p}" for p in _math_and_image_problems(facts)]
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return problems


def _open(context, url, site, found, label=""):
    """Open ``url`` in a new page; every request outside ``site`` is blocked and reported.

    Returns (page, found) with console errors and uncaught exceptions appended to ``found`` as
    they happen, or (None, found) when the page could not be loaded.
    """
    page = context.new_page()
    prefix = f"{label}: " if label else ""
    page.on(
        "console",
        lambda msg: msg.type == "error" and found.append(f"{prefix}console error: {msg.text}"),
    )
    page.on("pageerror", lambda exc: found.append(f"{prefix}uncaught exception: {exc}"))
    headless.block_outside(page, site, found, prefix)
    response = page.goto(url, wait_until="load")
    if response is None or (url.startswith("http") and response.status != 200):
        found.append(f"{prefix}HTTP {None if response is None else response.status} for {url}")
        page.close()
        return None, found
    return page, found


def _math_and_image_problems(facts):
    found = []
    if facts["untypeset"]:
        found.append(
            f"{len(facts['untypeset'])} math elements not typeset by MathJax, e.g. {facts['untypeset'][0]!r}"
        )
    leftover = raw_math(facts["prose"])
    if leftover:
        found.append(f"raw TeX left in the text: ...{leftover}...")
    for img in facts["images"]:
        if not img["complete"] or img["width"] == 0:
            found.append(f"image did not load: {img['src']}")
    return found


def _check_facts(facts, pages, base, url, status_cache, ids_cache, page):
    found = _math_and_image_problems(facts)
    for img in facts["images"]:
        if img["output"]:
            problem = figure_alt_problem(img["alt"], img["src"])
            if problem:
                found.append(problem)
    for line in facts["overflow"]:
        found.append(
            f"a code block scrolls horizontally (wider than the text column): {line[:100]!r}"
        )
    for text in facts["outputs"]:
        error = python_error(text)
        if error:
            found.append(f"cell output shows an error: ...{error}...")
    for link in sorted(set(facts["links"])):
        if not link.startswith(base):
            continue
        target, _, anchor = link.partition("#")
        if target not in status_cache:
            status_cache[target] = _status(target)
        if status_cache[target] != 200:
            found.append(f"broken internal link {link} (HTTP {status_cache[target]})")
        elif anchor and target.endswith(".html"):
            if target not in ids_cache:
                ids_cache[target] = _ids(page, target)
            if urllib.parse.unquote(anchor) not in ids_cache[target]:
                found.append(f"internal link {link}: no element with id {anchor!r}")
    listed = {
        urllib.parse.urljoin(link, urllib.parse.urlparse(link).path) for link in facts["sidebar"]
    }
    missing = [p for p in pages[1:] if base + p + ".html" not in listed]
    if missing:
        found.append(f"the sidebar does not list {missing}")
    return found


def _ids(page, target):
    """Element ids of another page, read with the same browser context (no navigation of ``page``)."""
    other = page.context.new_page()
    try:
        other.goto(target, wait_until="domcontentloaded")
        return set(
            other.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
        )
    finally:
        other.close()


def _serve(html_dir):
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """The browser closes connections it no longer needs (BrokenPipeError): not a page problem."""


def _status(url):
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", help="the built site, e.g. _build/quick/_build/html")
    parser.add_argument(
        "--screenshots", default="_build/quick/screenshots", help="folder for one PNG per page"
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(
            f"check-html: Chromium not found at {args.chromium} (Debian: apt-get install chromium)",
            file=sys.stderr,
        )
        return 2
    problems = check_site(args.html_dir, args.screenshots, args.chromium)
    for name, found in problems.items():
        print(f"{'ok  ' if not found else 'FAIL'} {name}")
        for problem in found:
            print(f"       {problem}")
    bad = [name for name, found in problems.items() if found]
    print(
        f"check-html: {len(problems) - len(bad)} of {len(problems)} pages pass; "
        f"screenshots in {args.screenshots}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
