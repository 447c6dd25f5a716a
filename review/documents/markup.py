"""HTML from agents and e-mails: decoded, sanitised for the viewer, and its visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

# Structure and emphasis only. No script, style, forms, frames, embeds or images: what a
# reviewer needs is the text, and anything that loads or runs is a way in. Images are dropped
# whole (their alt text with them) rather than kept with a src the viewer would block anyway.
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
# Tags whose content is not document text either: it goes with the tag.
DROPPED_WITH_CONTENT = {
    "script", "style", "head", "title", "noscript", "template", "iframe", "object", "embed",
    "svg", "math", "select",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # A relative link would point into this application, under the reviewer's session.
    if attribute == "href" and urlsplit(value.strip()).scheme.lower() not in URL_SCHEMES:
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=ATTRIBUTES,
    attribute_filter=_absolute_links_only,
    url_schemes=URL_SCHEMES,
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def html_sanitise(markup: str) -> str:
    return _CLEANER.clean(markup)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def html_decode(data: bytes) -> str:
    """UTF-8 when it is (the usual case, BOM or not), else the declared charset, else cp1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(data[:4096])
    encoding = match.group(1).decode("ascii") if match else "windows-1252"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("windows-1252", errors="replace")


# Elements that start on a new line when a browser renders them.
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "div", "dl",
    "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr",
    "ul",
}  # fmt: skip
_CELLS = {"td", "th"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)
        if tag == "pre":
            self.in_pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        self._boundary(tag)
        if tag == "pre" and self.in_pre:
            self.in_pre -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data if self.in_pre else re.sub(r"\s+", " ", data))

    def _boundary(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _CELLS:
            self.parts.append(" ")


def html_visible_text(markup: str) -> str:
    """The text a browser shows, one line per block; meant for sanitised markup (no scripts)."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
    text = re.sub(r" {2,}", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
