"""Readable text from an HTML email body, with the standard library's HTML parser.

Only for messages that carry no text/plain part: block elements become line breaks, links keep
their target, scripts, styles and the head are dropped, whitespace is collapsed as a browser would.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that start a new line, and those that also leave a blank line (paragraph-like). Webmail
# writes one <div> per line of what the sender typed, so a div is a line, not a paragraph.
_LINES = frozenset(
    ("div", "br", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "tr", "pre", "header", "footer")
)
_PARAGRAPHS = frozenset(("p", "table", "blockquote", "ul", "ol", "dl", "section", "article", "figure"))
_SKIP = frozenset(("script", "style", "head", "title", "template", "noscript"))
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0
        self._pending_break = 0  # newlines owed before the next visible text
        self._href: str | None = None
        self._link_text: list[str] = []

    def _owe(self, newlines: int) -> None:
        self._pending_break = max(self._pending_break, newlines)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in _PARAGRAPHS:
            self._owe(2)
        elif tag in _LINES:
            self._owe(1)
        elif tag in ("td", "th"):
            self._write(" ")
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []
        elif tag == "img" and (alt := dict(attrs).get("alt")):
            self._write(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _PARAGRAPHS:
            self._owe(2)
        elif tag in _LINES:
            self._owe(1)
        elif tag == "a" and self._href:
            shown = "".join(self._link_text).strip()
            # A link whose text is its own address says it once; a "click here" keeps where it went.
            if self._href.startswith(("http://", "https://")) and self._href != shown:
                self._write(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = _SPACES.sub(" ", data)
        if not text.strip():
            if self.chunks and not self._pending_break:
                self.chunks.append(" ")
            return
        self._write(text)
        if self._href is not None:
            self._link_text.append(text)

    def _write(self, text: str) -> None:
        if self._pending_break and self.chunks:
            self.chunks.append("\n" * self._pending_break)
        self._pending_break = 0
        self.chunks.append(text)


def html_to_text(html: str) -> str:
    """The visible text of `html`, one paragraph per block, without tags or entities."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = [line.strip() for line in "".join(collector.chunks).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
