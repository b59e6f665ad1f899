"""Sphinx extension of the book: a self-contained HTML site.

Three jobs, all found by ``make check-html``:

* **MathJax ships with the site.** Sphinx loads MathJax from a CDN by default, so a copy of the
  book opened from disk (``file://``) or on a machine without network shows raw ``\\( ... \\)``.
  ``_config.yml`` points ``mathjax_path`` at ``mathjax/tex-chtml-full.js`` (relative to
  ``_static``) and this extension copies that file, the CHTML web fonts and the lazily loaded UI
  and accessibility components from the MathJax 3 distribution of the Python package
  ``django-static-mathjax`` (MathJax only, no Django) into ``_static/mathjax`` (about 2.5 MB).
  The *full* TeX component has every TeX extension built in, so no extension is fetched at
  typesetting time.
* **Code fits the text column.** ``static/nqbook.css``: chapter code is formatted to at most
  79 characters a line (``tests/test_notebooks_classroom.py``), which the column shows with a
  slightly smaller code font; printed cell outputs wrap instead of scrolling sideways.
* **No duplicated inline scripts.** With Sphinx 7.4 some extensions' inline scripts reach the page
  twice (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's settings): the second
  ``const`` declaration is a SyntaxError in the reader's browser console on every page. Keeping
  the first copy of each identical script, in order, is harmless for all of them.
* **Colab opens the published notebook.** Chapters are MyST Markdown notebooks (``book/*.md``),
  which Colab cannot open, so the theme's Colab button (``.../blob/main/book/ssep.md``) would be
  dead. The theme already copies each executed chapter to ``_sources/<page>.ipynb`` for the
  ``.ipynb`` download button; the Colab button is pointed at that file on the branch the site is
  published to (``nqbook_site_branch``, default ``gh-pages``):
  ``colab.research.google.com/github/ORG/REPO/blob/gh-pages/_sources/book/ssep.ipynb``.
  ``make check-html`` checks that every such target exists in the built site. Binder and
  JupyterHub open the ``.md`` itself (jupytext is in ``environment.yml``).
"""

import importlib.util
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

MATHJAX_SCRIPT = "tex-chtml-full.js"
# what the bundled script loads from its own folder: fonts, and the menu's lazy components
MATHJAX_FILES = [MATHJAX_SCRIPT, "output/chtml/fonts/woff-v2", "ui", "a11y"]


def mathjax_distribution():
    """The ``es5`` folder of the installed MathJax 3 distribution (package django-static-mathjax)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is not None and spec.submodule_search_locations:
        es5 = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
        if (es5 / MATHJAX_SCRIPT).is_file():
            return es5
    raise ExtensionError(
        "the book bundles MathJax 3 from the package django-static-mathjax, which is "
        "not installed: pip install -e '.[book]'"
    )


def _add_stylesheet(app, config):
    config.html_static_path.append(str(Path(__file__).with_name("static")))
    app.add_css_file("nqbook.css")


def _check_mathjax_path(app, config):
    expected = "mathjax/" + MATHJAX_SCRIPT
    if config.mathjax_path != expected:
        raise ExtensionError(
            f"mathjax_path must be {expected!r} (the bundled copy), got {config.mathjax_path!r}"
        )
    mathjax_distribution()  # fail at the start of a build, not after executing every chapter


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_distribution(), Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, dirs_exist_ok=True)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (
            getattr(script, "filename", str(script))
            or "",  # None and "" both mean an inline script
            tuple(sorted((k, str(v)) for k, v in attributes.items() if k != "priority")),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _colab_opens_published_notebook(app, pagename, templatename, context, doctree):
    ipynb = context.get("ipynb_source")  # set by the theme for Markdown notebooks only
    if not ipynb:
        return
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            if button.get("text") == "Colab" and "/blob/" in button.get("url", ""):
                repository = button["url"].split("/blob/", 1)[0]
                button["url"] = (
                    f"{repository}/blob/{app.config.nqbook_site_branch}/_sources/{ipynb}"
                )


def setup(app):
    app.add_config_value("nqbook_site_branch", "gh-pages", "html")
    # after sphinx-book-theme's launch buttons (priority 501), which set ipynb_source
    app.connect("html-page-context", _colab_opens_published_notebook, priority=900)
    app.connect("config-inited", _check_mathjax_path)
    app.connect("config-inited", _add_stylesheet)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
