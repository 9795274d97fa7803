"""Text that is safe in every digest format: shortened, one line, Markdown- and HTML-escaped,
and the nh3 allow-list the HTML body passes through."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import nh3


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a sentence or word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("; "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|!])")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LINE_START_MARKER = re.compile(r"^([-+~])|^(\d+)([.)])")


def one_line(text: str | None) -> str:
    """Scraped text on one line: line breaks and control characters become one space, so a
    field can never start a line of its own (a forged heading, list item or table row)."""
    return _LINE_BREAKS.sub(" ", text or "").strip()


def escape_markdown(text: str | None) -> str:
    """Scraped text shown literally in Markdown, whatever renderer reads it: on one line, HTML
    special characters as entities (so no tag or autolink), and every character that makes a
    link, image, emphasis, code, heading or table cell backslash-escaped; a leading list marker
    or code fence is escaped too."""
    flat = one_line(text)
    flat = "".join(_HTML_SPECIAL.get(char, char) for char in flat)
    flat = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START_MARKER.sub(
        lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", flat
    )


def web_url(url: str | None) -> str:
    """The URL when it is an http(s) address, with characters that would end a Markdown or
    HTML link percent-encoded; otherwise empty, so no other scheme becomes a link."""
    if not url:
        return ""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    if scheme not in ("http", "https"):
        return ""
    return quote(url.strip(), safe="/:?#[]@!$&'*+,;=%~-._")


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


_HTML_TAGS = {
    "a", "br", "code", "div", "em", "h1", "h2", "h3", "hr", "img", "li", "ol", "p", "q",
    "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_HTML_ATTRIBUTES = {
    "*": {"style"},
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan"},
    "th": {"colspan"},
}
_CSS_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-top", "color",
    "display", "font-family", "font-size", "font-style", "font-weight", "height",
    "line-height", "list-style", "margin", "margin-bottom", "margin-left", "margin-right",
    "margin-top", "max-width", "padding", "padding-bottom", "padding-left", "padding-right",
    "padding-top", "text-align", "text-decoration", "vertical-align", "width",
}  # fmt: skip
_URL_SCHEMES = {"http", "https", "mailto", "cid"}


def sanitise_html(fragment: str) -> str:
    """The digest body through nh3 (ammonia): only the tags, attributes, CSS properties and
    URL schemes the digest itself uses survive, whatever a scraped string tried to smuggle in."""
    return nh3.clean(
        fragment,
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_CSS_PROPERTIES,
        strip_comments=True,
    )


def days_away(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")
