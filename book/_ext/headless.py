"""Headless Chromium for the book's own tools: ``tests/check_html.py`` and ``pdf_edition.py``.

Both drive Debian's Chromium through Playwright (Playwright's own browser download is refused by
a closed network) and both treat the built book as a closed world: a request outside it is
blocked and reported, as a reader without network would miss it.
"""

CHROMIUM_FLAGS = [  # the machine's network is closed: no background traffic, no sandbox as root
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright, chromium):
    """Start the Chromium executable ``chromium`` headless."""
    return playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)


def block_outside(page, site, found, prefix=""):
    """Let ``page`` load only URLs under ``site`` (and ``data:``); report others in ``found``."""

    def route(request_route):
        url = request_route.request.url
        if url.startswith(site) or url.startswith("data:"):
            return request_route.continue_()
        found.append(f"{prefix}blocked a request outside the site: {url}")
        return request_route.abort()

    page.route("**/*", route)
