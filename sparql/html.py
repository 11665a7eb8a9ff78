"""HTML pages for people: one escaping discipline and one strict Content-Security-Policy.

Every value that reaches a page goes through :func:`esc` (``html.escape`` with quotes), including
attribute values and URLs; no harvested text is ever inserted as markup. Pages carry no inline
script or style, so the policy can forbid both: even if markup slipped through, a browser would
not run it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from starlette.responses import HTMLResponse

__all__ = [
    "CSP",
    "NAVIGATION",
    "SECURITY_HEADERS",
    "esc",
    "html_response",
    "link",
    "page",
]

#: For resource, dataset and error pages: no scripts at all, styles and images from us only.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def esc(value: object) -> str:
    """Text as HTML text or attribute value (``&``, ``<``, ``>``, ``"`` and ``'`` escaped)."""
    return html.escape(str(value), quote=True)


def link(href: str | None, text: str, *, lang: str | None = None) -> str:
    """An ``<a>`` (or a ``<span>`` when there is nothing to link to); both escaped."""
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    if href is None:
        return f"<span{lang_attr}>{esc(text)}</span>"
    return f'<a href="{esc(href)}"{lang_attr}>{esc(text)}</a>'


def page(
    title: str,
    body: str,
    *,
    lang: str = "en",
    head: Iterable[str] = (),
    title_lang: str | None = None,
) -> str:
    """A whole page; ``title`` is escaped here, ``body`` and ``head`` must be built escaped."""
    heading_lang = f' lang="{esc(title_lang)}"' if title_lang else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title{heading_lang}>{esc(title)} · MEA Hub</title>\n"
        '<link rel="stylesheet" href="/static/page.css">\n'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">\n'
        + "".join(line + "\n" for line in head)
        + "</head>\n<body>\n"
        + _header()
        + f'<main id="content">\n<h1{heading_lang}>{esc(title)}</h1>\n{body}\n</main>\n'
        "</body>\n</html>\n"
    )


#: The site header's links: every page reaches these without JavaScript.
NAVIGATION = (
    ("/", "Query"),
    ("/search", "Search"),
    ("/gaps", "Gap matrix"),
    ("/targets", "Aichi targets"),
    ("/.well-known/void", "Dataset"),
    ("/def", "Ontology"),
)


def _header() -> str:
    links = "".join(f"<li>{link(href, text)}</li>" for href, text in NAVIGATION)
    return (
        '<header>\n<a class="skip" href="#content">Skip to content</a>\n'
        '<nav aria-label="Site"><a class="brand" href="/">MEA Hub</a>'
        f"<ul>{links}</ul></nav>\n</header>\n"
    )


def html_response(
    body: str, *, status_code: int = 200, headers: dict[str, str] | None = None, csp: str = CSP
) -> HTMLResponse:
    """An HTML response with the Content-Security-Policy and the other security headers."""
    all_headers = {"Content-Security-Policy": csp, **SECURITY_HEADERS, **(headers or {})}
    return HTMLResponse(body, status_code=status_code, headers=all_headers)
