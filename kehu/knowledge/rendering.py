"""Safe rendering of article bodies: nothing an author types reaches the page as raw HTML.

* ``text`` (the default): plain text with a few marks — blank line = paragraph, ``## `` heading,
  ``- `` / ``1. `` list items, ``**bold**``, ``[label](https://…)`` links. Everything is escaped
  first and only then marked up, so markup in the text shows as text.
* ``html``: parsed and rebuilt from an allow-list of tags (p, br, strong, em, ul, ol, li, h2–h4,
  a with http/https/mailto href, code, pre, blockquote); every attribute but a link's href is
  dropped, script/style content is removed, text is escaped again.
"""

import re
from html import escape
from html.parser import HTMLParser

from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "a",
    "code",
    "pre",
    "blockquote",
}
VOID_TAGS = {"br"}
DROP_CONTENT = {"script", "style", "iframe", "object", "template", "noscript", "svg", "math"}
SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s\"'<>]+$", re.IGNORECASE)
BOLD = re.compile(r"\*\*(.+?)\*\*")
LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^\s)\"'<>]{1,500})\)")


def _inline(line: str) -> str:
    text = escape(line, quote=True)
    text = BOLD.sub(r"<strong>\1</strong>", text)
    return LINK.sub(r'<a href="\2" rel="nofollow noopener noreferrer">\1</a>', text)


def render_text(body: str) -> str:
    """The simple plain-text marks → HTML (escaped first)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", (body or "").replace("\r\n", "\n").strip()):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and lines[0].startswith(("## ", "### ")):
            level = "h3" if lines[0].startswith("### ") else "h2"
            out.append(f"<{level}>{_inline(lines[0].lstrip('#').strip())}</{level}>")
        elif all(re.match(r"^\s*[-*•] ", line) for line in lines):
            items = "".join(f"<li>{_inline(re.sub(r'^\s*[-*•] ', '', line))}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif all(re.match(r"^\s*\d+[.、)] ?", line) for line in lines):
            items = "".join(f"<li>{_inline(re.sub(r'^\s*\d+[.、)] ?', '', line))}</li>" for line in lines)
            out.append(f"<ol>{items}</ol>")
        else:
            out.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return "\n".join(out)


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in ALLOWED_TAGS:
            return
        if tag == "a":
            href = next((v for k, v in attrs if k == "href" and v and SAFE_URL.match(v.strip())), None)
            if href is None:
                self.out.append("<a>")
            else:
                self.out.append(
                    f'<a href="{escape(href.strip(), quote=True)}" rel="nofollow noopener noreferrer">'
                )
        else:
            self.out.append(f"<{tag}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag in VOID_TAGS and not self.dropping:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag):
        if tag in DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:  # close what was left open inside it
            last = self.open.pop()
            self.out.append(f"</{last}>")
            if last == tag:
                break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def sanitise_html(html: str) -> str:
    parser = _Sanitiser()
    parser.feed(html or "")
    return parser.result()


def html_to_text(html: str) -> str:
    text = re.sub(r"<[^>]*>", " ", sanitise_html(html))
    from html import unescape

    return unescape(text)


def render_body(body: str, body_format: str) -> SafeString:
    """The article body as safe HTML."""
    html = sanitise_html(body) if body_format == "html" else render_text(body)
    return mark_safe(html)  # noqa: S308 -- built from escaped text and allow-listed tags only


def excerpt(body: str, body_format: str, length: int = 280) -> str:
    """Plain text for answers and snippets (no markup)."""
    text = (
        html_to_text(body)
        if body_format == "html"
        else re.sub(r"\*\*|^#+ |^\s*[-*•] ", "", body or "", flags=re.MULTILINE)
    )
    text = LINK.sub(r"\1", text)
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
