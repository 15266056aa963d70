"""The Netscape bookmark file format: what every browser exports and imports ("Bookmarks HTML").

Parsing only reads the file's text: no link is ever fetched. Malformed files give whatever links can be read,
unless html.parser itself gives up (UnreadableFile).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from html.parser import HTMLParser

# Browser roots (the toolbar, "Other bookmarks") hold everything: as tags they would say nothing.
ROOT_FOLDER_ATTRIBUTES = {"personal_toolbar_folder", "unfiled_bookmarks_folder"}


class UnreadableFile(ValueError):
    """html.parser stopped at markup it cannot read past (e.g. "<![foo["), at `line` of the file."""

    def __init__(self, line: int):
        super().__init__(f"unreadable markup at line {line}")
        self.line = line


@dataclass
class Entry:
    """One <A> of a bookmark file, as written there (not validated)."""

    link: str
    name: str = ""
    tags: list[str] = field(default_factory=list)
    description: str = ""


def folder_tag(name: str) -> str:
    return "-".join(name.lower().split())


class _BookmarkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.entries: list[Entry] = []
        self._folders: list[str | None] = []  # one per open <DL>; None for folders that give no tag
        self._pending_folder: str | None = None  # an <H3> waiting for its <DL>
        self._heading: list[str] | None = None  # text of the <H3> being read
        self._name: list[str] | None = None  # text of the <A> being read
        self._description: list[str] | None = None  # text after a bookmark's <DD>
        self._last: Entry | None = None  # the bookmark a <DD> describes
        self._root_heading = False

    def handle_starttag(self, tag, attrs):
        if tag in ("dt", "dl", "a", "h3", "hr"):
            self._finish_text()
        attributes = {key: value or "" for key, value in attrs}
        if tag == "a":
            self._start_link(attributes)
        elif tag == "h3":
            self._heading = []
            self._root_heading = bool(ROOT_FOLDER_ATTRIBUTES & attributes.keys())
            self._last = None
        elif tag == "dl":
            self._folders.append(self._pending_folder)
            self._pending_folder = None
        elif tag == "dd" and self._last is not None:
            self._description = []

    def handle_endtag(self, tag):
        if tag == "a":
            self._finish_name()
        elif tag == "h3":
            self._finish_heading()
        elif tag == "dl":
            self._finish_text()
            if self._folders:
                self._folders.pop()

    def handle_data(self, data):
        for text in (self._name, self._heading, self._description):
            if text is not None:
                text.append(data)

    def close(self):
        super().close()
        self._finish_text()

    def _start_link(self, attributes):
        self._pending_folder = None
        link = attributes.get("href", "").strip()
        if not link:
            self._last = None
            return
        tags = attributes.get("tags", "").replace(",", " ").split()
        folders = [folder for folder in self._folders if folder]
        self._last = Entry(link=link, tags=folders + tags)
        self.entries.append(self._last)
        self._name = []

    def _finish_name(self):
        if self._name is not None and self._last is not None:
            self._last.name = " ".join("".join(self._name).split())
        self._name = None

    def _finish_heading(self):
        if self._heading is not None:
            name = folder_tag("".join(self._heading))
            self._pending_folder = None if self._root_heading or not name else name
        self._heading = None

    def _finish_text(self):
        """Close what a missing end tag left open: a name without </A>, a <DD> (which never has one)."""
        self._finish_name()
        self._finish_heading()
        if self._description is not None and self._last is not None:
            self._last.description = "".join(self._description).strip()
            self._last = None
        self._description = None


def parse(text: str) -> list[Entry]:
    """Every bookmark of a Netscape bookmark file, in file order, with its folders as tags."""
    parser = _BookmarkParser()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError as error:
        # How html.parser (_markupbase) refuses some malformed declarations: raised explicitly, not an assert.
        raise UnreadableFile(parser.getpos()[0]) from error
    return parser.entries


HEADER = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file.
     It will be read and overwritten.
     DO NOT EDIT! -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
"""
FOOTER = "</DL><p>\n"


def _timestamp(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def render(bookmarks: Iterable) -> str:
    """A bookmark file of `bookmarks` (Bookmark instances) that browsers and VM Lab's import read back."""
    lines = [HEADER]
    for bookmark in bookmarks:
        attributes = [
            f'HREF="{escape(bookmark.link)}"',
            f'ADD_DATE="{_timestamp(bookmark.created_at)}"',
            f'LAST_MODIFIED="{_timestamp(bookmark.updated_at)}"',
        ]
        if bookmark.tag_list:
            attributes.append(f'TAGS="{escape(",".join(bookmark.tag_list))}"')
        lines.append(f"    <DT><A {' '.join(attributes)}>{escape(bookmark.name)}</A>\n")
        if bookmark.description:
            lines.append(f"    <DD>{escape(bookmark.description)}\n")
    lines.append(FOOTER)
    return "".join(lines)
