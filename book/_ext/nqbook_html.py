"""Sphinx extension of the book: remove duplicated inline scripts from every HTML page.

With Sphinx 7.4 some extensions' inline scripts reach the page twice (sphinx-thebe's
``const THEBE_JS_URL = ...``, sphinx-togglebutton's settings): the second ``const`` declaration is
a SyntaxError in the reader's browser console on every page (found by ``make check-html``).
Keeping the first copy of each identical script, in order, is harmless for all of them.
"""


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "",  # None and "" both mean an inline script
               tuple(sorted((k, str(v)) for k, v in attributes.items() if k != "priority")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
