"""Helpers for the page tests: shared constants and a tiny query helper over server-rendered
HTML (the standard library's parser: the tests need no more than "elements with this class, id
or tag, their attributes and their text")."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

EXPLORER = "https://explorer.example"
ESCO_URL = "http://data.europa.eu/esco/skill/1973c966-f236-40c9-b2d4-5d71a89019be"

SHARED_ITEM = {
    "recipient": {"name": "Ada Lovelace", "email": "ada@example.org"},
    "achievement": {
        "name": "Excel Modelling",
        "description": "Builds and tests financial models in spreadsheets.",
        "criteria": "Passed a two-hour practical assessment.",
        "criteriaUrl": "https://academy.example/criteria/excel",
        "skills": [
            {"framework": "ESCO", "code": "S5.6.1", "name": "use spreadsheets software",
             "url": ESCO_URL},
        ],
    },
    "validFrom": "2026-01-15T09:00:00Z",
}
PRIVATE_ITEM = {
    "recipient": {"name": "Grace Hopper", "email": "grace@example.org"},
    "achievement": {
        "name": "Compiler Basics",
        "description": "Writes a small compiler.",
        "criteria": "Built a working compiler.",
    },
    "validFrom": "2026-01-15T09:00:00Z",
}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "use", "path", "circle"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str | Element] = field(default_factory=list)

    @property
    def raw_text(self) -> str:
        return "".join(p if isinstance(p, str) else p.raw_text for p in self.parts)

    @property
    def text(self) -> str:
        """The text content with runs of whitespace collapsed, as a reader sees it."""
        return " ".join(self.raw_text.split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self):
        yield self
        for p in self.parts:
            if isinstance(p, Element):
                yield from p.iter()

    def select(self, tag: str | None = None, *, cls: str | None = None, id: str | None = None,
               **attrs: str) -> list[Element]:
        return [
            e for e in self.iter()
            if (tag is None or e.tag == tag)
            and (cls is None or cls in e.classes)
            and (id is None or e.attrs.get("id") == id)
            and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, **kw: str) -> Element:
        found = self.select(tag, **kw)
        assert len(found) == 1, f"expected one {tag or ''} {kw}, found {len(found)}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        el = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].parts.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].parts.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def parse(html: str | bytes) -> Element:
    b = _Builder()
    b.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    b.close()
    return b.root
