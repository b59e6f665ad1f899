"""The book's chapter notebooks: MyST Markdown files in ``book/`` (jupytext's ``myst`` format).

A chapter is a ``book/*.md`` whose YAML front matter names a ``kernelspec``; the other ``.md`` pages
(introduction, glossary, ...) are prose. ``read`` gives a chapter as an ``nbformat`` notebook with
the cells, tags and myst-nb metadata that Jupyter Book executes (``make test`` writes the same
conversion to ``_build/nbval`` for nbval and ruff).
"""

from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]


def is_notebook(path):
    """Whether the Markdown file ``path`` is a notebook: a ``kernelspec`` in its front matter."""
    text = Path(path).read_text()
    if not text.startswith("---\n"):
        return False
    front = text[4:].split("\n---\n", 1)[0]
    return any(line.startswith("kernelspec:") for line in front.splitlines())


NOTEBOOKS = sorted(p for p in (ROOT / "book").glob("*.md") if is_notebook(p))


def read(path):
    """The chapter at ``path`` as an nbformat v4 notebook."""
    return jupytext.read(path, fmt="md:myst")
