"""Check the rendered book in a real browser: ``make check-html`` runs this after a quick build.

Serves the built HTML on 127.0.0.1 and drives headless Chromium (Playwright, the system's
Chromium) through every page listed in ``_toc.yml``. A page passes when

* it is served with HTTP 200 and raises no console error or uncaught exception;
* MathJax has typeset it: every ``.math`` element holds an ``mjx-container`` and no raw
  ``$...$``, ``\\(``, ``\\[`` or ``\\begin{`` is left in the prose;
* every ``<img>`` has loaded (``naturalWidth > 0``) and figures carry a real alt text (not a
  file name), the book's accessibility minimum;
* no cell output shows a Python traceback or an ``...Error``;
* every internal link resolves (HTTP 200 for the target file, and the ``#anchor`` exists);
* the navigation sidebar lists every chapter of the TOC.

A full-page screenshot of every page goes to ``--screenshots``. The machine may be offline:
MathJax is requested from its CDN by the pages, so those requests are answered from the MathJax
distribution installed with the test extras (package ``django-static-mathjax``, MathJax 3.2);
any other external request fails the check. Exit status 0 only if every page passes.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import importlib.util
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
CHROMIUM_FLAGS = [  # the machine's network is closed: no background traffic, no sandbox as root
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\$|\$[^\s$][^$\n]*\$")
PY_ERROR = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*Error\b")


def toc_pages(toc_path=ROOT / "_toc.yml"):
    """Page paths (no suffix) in TOC order: the root, then every chapter of every part."""
    toc = yaml.safe_load(Path(toc_path).read_text())
    return [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def raw_math(text):
    """The first piece of un-typeset TeX in ``text`` (prose with code removed), or None."""
    match = RAW_MATH.search(text)
    return None if match is None else text[max(0, match.start() - 30):match.end() + 30]


def python_error(text):
    """The first traceback or ``...Error`` in a cell output's text, or None."""
    match = PY_ERROR.search(text)
    return None if match is None else text[max(0, match.start() - 60):match.end() + 60]


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
    images: images,
    math: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    sidebar: Array.from(document.querySelectorAll('nav.bd-docs-nav a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  };
}
"""


def check_site(html_dir, screenshots, chromium, pages=None):
    """Check every TOC page of the site in ``html_dir``; return {page: [problems]}."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir).resolve()
    pages = toc_pages() if pages is None else pages
    screenshots = Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    server, base = _serve(html_dir)
    mathjax = _mathjax_root()
    problems = {}
    status_cache = {}
    ids_cache = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", functools.partial(_route, base=base, mathjax=mathjax))
            for name in pages:
                page = context.new_page()
                found = []
                page.on("console", lambda msg, found=found: msg.type == "error" and found.append(f"console error: {msg.text}"))
                page.on("pageerror", lambda exc, found=found: found.append(f"uncaught exception: {exc}"))
                url = base + name + ".html"
                response = page.goto(url, wait_until="load")
                if response is None or response.status != 200:
                    found.append(f"HTTP {None if response is None else response.status} for {url}")
                    problems[name] = found
                    page.close()
                    continue
                facts = page.evaluate(_PAGE_FACTS)
                page.screenshot(path=str(screenshots / (name.replace("/", "__") + ".png")), full_page=True)
                ids_cache[url] = set(facts["ids"])
                found += _check_facts(facts, pages, base, url, status_cache, ids_cache, page)
                problems[name] = found
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return problems


def _check_facts(facts, pages, base, url, status_cache, ids_cache, page):
    found = []
    if facts["untypeset"]:
        found.append(f"{len(facts['untypeset'])} math elements not typeset by MathJax, e.g. {facts['untypeset'][0]!r}")
    leftover = raw_math(facts["prose"])
    if leftover:
        found.append(f"raw TeX left in the text: ...{leftover}...")
    for img in facts["images"]:
        if not img["complete"] or img["width"] == 0:
            found.append(f"image did not load: {img['src']}")
        if img["output"]:
            problem = figure_alt_problem(img["alt"], img["src"])
            if problem:
                found.append(problem)
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
    listed = {urllib.parse.urljoin(link, urllib.parse.urlparse(link).path) for link in facts["sidebar"]}
    missing = [p for p in pages[1:] if base + p + ".html" not in listed]
    if missing:
        found.append(f"the sidebar does not list {missing}")
    return found


def _ids(page, target):
    """Element ids of another page, read with the same browser context (no navigation of ``page``)."""
    other = page.context.new_page()
    try:
        other.goto(target, wait_until="domcontentloaded")
        return set(other.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    finally:
        other.close()


def _route(route, base, mathjax):
    url = route.request.url
    if url.startswith(base) or url.startswith("data:"):
        return route.continue_()
    if url.startswith(MATHJAX_CDN) and mathjax is not None:
        path = (mathjax / url[len(MATHJAX_CDN):].split("?")[0]).resolve()
        if path.is_file() and mathjax in path.parents:
            return route.fulfill(path=str(path))
    return route.abort()  # the page asked for something outside the book: reported as a console error


def _mathjax_root():
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    return root.resolve() if (root / "es5" / "tex-mml-chtml.js").is_file() else None


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
    parser.add_argument("--screenshots", default="_build/quick/screenshots", help="folder for one PNG per page")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"check-html: Chromium not found at {args.chromium} (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    if _mathjax_root() is None:
        print("check-html: no local MathJax (pip install django-static-mathjax, part of the test extras)", file=sys.stderr)
        return 2
    problems = check_site(args.html_dir, args.screenshots, args.chromium)
    for name, found in problems.items():
        print(f"{'ok  ' if not found else 'FAIL'} {name}")
        for problem in found:
            print(f"       {problem}")
    bad = [name for name, found in problems.items() if found]
    print(f"check-html: {len(problems) - len(bad)} of {len(problems)} pages pass; screenshots in {args.screenshots}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
