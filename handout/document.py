"""The closed vocabulary of document blocks that templates produce, as plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What an element is to a reader; a screen-reader tag is derived from it."""

    TITLE = "title"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST = "list"
    TABLE = "table"
    FIGURE = "figure"
    SECTION = "section"
    ARTIFACT = "artifact"


@dataclass(frozen=True)
class Span:
    """A run of text with one look; `text == "\\n"` is a line break."""

    text: str
    bold: bool = False
    href: str | None = None


Inline = tuple[Span, ...]


@dataclass(frozen=True)
class Masthead:
    """The clinic's logo, name and contact details at the top of the first page."""

    role: Role = field(default=Role.FIGURE, init=False)


@dataclass(frozen=True)
class Title:
    text: Inline
    subtitle: Inline = ()
    role: Role = field(default=Role.TITLE, init=False)


@dataclass(frozen=True)
class Heading:
    level: int
    text: Inline
    role: Role = field(default=Role.HEADING, init=False)


@dataclass(frozen=True)
class Paragraph:
    text: Inline
    style: str = "body"
    role: Role = field(default=Role.PARAGRAPH, init=False)


@dataclass(frozen=True)
class BulletList:
    items: tuple[Inline, ...]
    role: Role = field(default=Role.LIST, init=False)


@dataclass(frozen=True)
class Cell:
    text: Inline = ()
    tick: bool = False  # an empty square for the patient to tick by hand


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[Cell, ...], ...]
    header_rows: int
    widths: tuple[float, ...]  # relative column widths
    style: str = "grid"
    caption: str = ""
    role: Role = field(default=Role.TABLE, init=False)


@dataclass(frozen=True)
class Panel:
    """A boxed part that must stand out, such as the warning signs."""

    kind: str
    label: str
    children: tuple[Block, ...]
    role: Role = field(default=Role.SECTION, init=False)


@dataclass(frozen=True)
class QRCode:
    """The resources QR code (a figure with alt text) and the text printed beside it."""

    url: str
    alt: str
    children: tuple[Block, ...]
    role: Role = field(default=Role.FIGURE, init=False)


@dataclass(frozen=True)
class Keep:
    """Blocks that must stay on one page."""

    children: tuple[Block, ...]
    role: Role = field(default=Role.SECTION, init=False)


@dataclass(frozen=True)
class PageBreak:
    role: Role = field(default=Role.ARTIFACT, init=False)


@dataclass(frozen=True)
class Spacer:
    height_mm: float
    role: Role = field(default=Role.ARTIFACT, init=False)


@dataclass(frozen=True)
class DiaryWeek:
    """One week of a machine-readable diary: its heading, its table's caption and its seven days' names."""

    heading: str
    caption: str
    days: tuple[str, ...]


DIARY_TEXTS = ("title", "pages", "mark", "correct", "write", "day", "walked", "pain", "minutes", "steps", "notes")


@dataclass(frozen=True)
class Diary:
    """The walking diary a scanner can read back (handout/diary/): the plan's numbers, its words, its weeks."""

    start_minutes: int
    target_minutes: int
    walks_per_week: int
    weeks: int
    start_date: str  # YYYY-MM-DD
    tag: str  # the plan's four-letter tag (diary/code.py)
    texts: tuple[tuple[str, str], ...]  # each of DIARY_TEXTS and its words in the document's language
    week_blocks: tuple[DiaryWeek, ...]
    role: Role = field(default=Role.SECTION, init=False)

    def text(self, key: str) -> str:
        return dict(self.texts)[key]


@dataclass(frozen=True)
class Chart:
    """Weekly numbers drawn as a chart (the diary report): minutes against the aim, and pain; `alt` says what it shows."""

    labels: tuple[str, ...]  # one per week
    minutes: tuple[int, ...]
    aims: tuple[int, ...]
    pain: tuple[float | None, ...]
    alt: str
    legend: tuple[str, str, str]  # the three series' names
    role: Role = field(default=Role.FIGURE, init=False)


@dataclass(frozen=True)
class Picture:
    """A grey image (a crop of a scan) printed at `width_mm`; `alt` says what it shows."""

    png: bytes
    width_mm: float
    alt: str
    role: Role = field(default=Role.FIGURE, init=False)


Block = Masthead | Title | Heading | Paragraph | BulletList | Table | Panel | QRCode | Keep | PageBreak | Spacer | Diary | Chart | Picture


@dataclass(frozen=True)
class Document:
    """A whole document: its metadata and its blocks in reading order."""

    title: str
    subject: str
    keywords: tuple[str, ...]
    lang: str
    blocks: tuple[Block, ...]


def plain_text(spans: Inline) -> str:
    """The text of an inline run, as a reader would hear it."""
    return "".join(s.text for s in spans)


def has_content(blocks: tuple[Block, ...]) -> bool:
    """Whether blocks put anything on paper for a reader: text, a table, the masthead or a QR code (spacers and page breaks do not)."""
    for block in blocks:
        if isinstance(block, Masthead | Table | QRCode | Diary | Chart | Picture):
            return True
        if isinstance(block, Title) and plain_text(block.text + block.subtitle).strip():
            return True
        if isinstance(block, Heading | Paragraph) and plain_text(block.text).strip():
            return True
        if isinstance(block, BulletList) and any(plain_text(item).strip() for item in block.items):
            return True
        if isinstance(block, Panel) and (block.label.strip() or has_content(block.children)):
            return True
        if isinstance(block, Keep) and has_content(block.children):
            return True
    return False
