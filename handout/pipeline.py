"""The pipeline: article, brand and plan → template → document blocks → PDF bytes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handout.brand import Brand
from handout.content import Article
from handout.diary.code import plan_tag
from handout.document import Document
from handout.errors import HandoutError
from handout.i18n import current_language, gettext, language_tag, use_language
from handout.markup import parse_document
from handout.plan import Plan
from handout.qr import check_url

if TYPE_CHECKING:  # the tri-fold layout is imported only when a tri-fold is made; Jinja only when a template is filled
    import jinja2

    from handout.part_markers import Part
    from handout.render.pdf import PdfRenderer
    from handout.render.trifold import TrifoldRenderer

LEAFLET_TEMPLATE = "leaflet.xml.j2"
PLAN_TEMPLATE = "plan.xml.j2"
TO_PRINT_TEMPLATE = "to-print.xml.j2"
PLAN_TITLE = "Your walking plan"  # a message: printed in the document's language
# The context names whose values are the same for every patient of a clinic: a template block reading only
# these (the masthead, the bad-day and warning panels, the resources, the article) is filled and read once
# per process and language (template_parts.py). Never a patient's name, plan, dates or diary tag.
SHARED_NAMES = frozenset({"article", "brand", "lang", "large_print", "qr_url", "qr_url_display", "title", "with_article"})


_SHORT_DATES = {False: {False: "d MMM", True: "d MMM yyyy"}, True: {False: "MMM d", True: "MMM d, yyyy"}}  # [US?][with year?]


@lru_cache(maxsize=4096)  # a batch formats the same few hundred dates thousands of times
def _format_date(day: dt.date, pattern: str, locale: str) -> str:
    from babel.dates import format_date  # only plans need dates; a leaflet need not pay for importing babel

    return format_date(day, format=pattern, locale=locale)


_NBSP = "\u00a0"


def date_range(start: dt.date, end: dt.date, with_year: bool, locale: str) -> str:
    """Two dates as their readers write a range, each never broken over lines: "4–10 Dec 2026" in one month
    ("Dec 4–10, 2026" in the US, "4–10 dic 2026" in Spanish), "28 Dec 2026 – 3 Jan 2027" across months.

    A line may break only after the dash of a range across months.
    """
    us = locale == "en_US"
    if (start.year, start.month) == (end.year, end.month):
        if us:
            text = f"{_format_date(start, 'MMM d', locale)}–{_format_date(end, 'd, yyyy' if with_year else 'd', locale)}"
        else:
            text = f"{_format_date(start, 'd', locale)}–{_format_date(end, _SHORT_DATES[False][with_year], locale)}"
        return text.replace(" ", _NBSP)
    pattern = _SHORT_DATES[us][with_year]
    return f"{_format_date(start, pattern, locale).replace(' ', _NBSP)}{_NBSP}– {_format_date(end, pattern, locale).replace(' ', _NBSP)}"


def article_for(language: str) -> Article:
    """The built-in article in `language`, read once per process while its file stays as it is (every plan needs it)."""
    from handout.content import DEFAULT_ARTICLE, articles_dir, load_article

    try:
        stat = (articles_dir() / f"{DEFAULT_ARTICLE}.{language}.toml").stat()
    except OSError:
        return load_article(language=language)  # its own one-line error
    return _article(language, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)  # keyed by the file's time and size too: an edited article is read again
def _article(language: str, mtime_ns: int, size: int) -> Article:
    from handout.content import load_article

    return load_article(language=language)


def document_date(day: dt.date) -> dt.datetime:
    """The date a PDF carries: midnight UTC of `day`, or SOURCE_DATE_EPOCH when set (reproducible builds' convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    try:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise HandoutError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, not {epoch[:30]!r}") from None


@dataclass(frozen=True)
class ListedPlan:
    """One line of the to-print sheet: the plan's row, patient_id, patient's name, and its pages in which file."""

    row: int
    patient_id: str
    name: str
    pages: str
    file: str


@dataclass(frozen=True)
class ListedFile:
    """One to-print file on the sheet: its name and its plans there, in order."""

    file: str
    entries: tuple[ListedPlan, ...]


@dataclass(frozen=True)
class Patient:
    """Who a plan is for. The name is printed on the page and nowhere else (not in metadata, file names or logs)."""

    name: str
    clinician: str = ""


def display_url(url: str) -> str:
    """The URL as printed for people to type: without the scheme, which nobody types."""
    return url.split("://", 1)[1].rstrip("/") if "://" in url else url


@dataclass
class Renderer:
    """Everything prepared once per process (templates, fonts, styles) to render many documents."""

    brand: Brand
    paper: str = "a4"
    template_dirs: Sequence[Path] = ()
    large_print: bool = False  # 18 pt body, 22 pt headings, 7:1 contrast: a renderer per print profile
    keep_leaflet_text: bool = False  # the command line's: a leaflet's filled template kept between runs (leaflet_text.py)
    template_folders: tuple[Path, ...] = field(init=False)  # the clinic's own, in the order searched; the built-ins come after
    _date_locales: dict[str, str] = field(init=False, default_factory=dict)  # language → its dates' Babel locale, for this brand

    def __post_init__(self) -> None:
        from handout.resources import clinic_template_folders

        self.template_folders = clinic_template_folders(self.brand.templates_dir, self.template_dirs)  # a missing one is said now, not at the first fill

    @cached_property
    def pdf(self) -> PdfRenderer:
        """What draws this renderer's documents (fonts, styles), made for the first: a batch's own process checks templates and draws nothing."""
        from handout.render.pdf import PdfRenderer
        from handout.render.styles import LARGE_PRINT, STANDARD

        return PdfRenderer(self.brand, self.paper, LARGE_PRINT if self.large_print else STANDARD)

    @cached_property
    def env(self) -> jinja2.Environment:
        """The clinic's template environment, made when a template is first filled (a leaflet whose filled text is kept needs none)."""
        from handout.templating import make_environment

        env = make_environment(self.template_folders)
        # Dates in the document's language, as its readers write them: "Mon 7 Dec" (en-GB),
        # "Mon, Dec 7" (en-US), "lun 7 dic" (es). The language is the document's, not the process's.
        # A date never breaks over two lines: its spaces are no-break spaces.
        env.filters["weekday"] = lambda day: _format_date(day, "EEE d", self._date_locale()).replace(" ", _NBSP)  # a diary row's day: "Mon 5"
        env.filters["day"] = lambda day: _format_date(day, "EEE, MMM d" if self._us() else "EEE d MMM", self._date_locale()).replace(" ", _NBSP)
        env.filters["short_date"] = lambda day, with_year=False: _format_date(day, _SHORT_DATES[self._us()][with_year], self._date_locale()).replace(" ", _NBSP)
        env.filters["long_date"] = lambda day: _format_date(day, "long", self._date_locale()).replace(" ", _NBSP)
        env.filters["date_range"] = lambda start, end, with_year=False: date_range(start, end, with_year, self._date_locale())
        return env

    def _date_locale(self) -> str:
        # Asked for by every date a template prints (hundreds a plan): worked out once per language.
        language = current_language()
        locale = self._date_locales.get(language)
        if locale is None:
            locale = self._date_locales[language] = self.lang_for(language).replace("-", "_")
        return locale

    def _us(self) -> bool:
        return self._date_locale() == "en_US"

    def prepare(self, templates: tuple[str, ...] = (LEAFLET_TEMPLATE, PLAN_TEMPLATE)) -> None:
        """Do now what every document would otherwise do first: compile templates, build the QR code."""
        from handout.render.graphics import prepare_qr

        self.check_templates(templates)
        prepare_qr(self.brand.resources_url)

    def check_templates(self, templates: Sequence[str]) -> None:
        """Compile the templates now, so that one that cannot be read fails before any document is made."""
        from handout.templating import compile_template

        for name in templates:
            compile_template(self.env, name)

    def lang_for(self, language: str) -> str:
        """The document language tag: the brand's locale when it is the same language (en → en-GB)."""
        return language_tag(self.brand.locale, language)

    def document(self, template: str, context: Mapping[str, object]) -> Document:
        """Fill a template and parse it into blocks (in the language of the article in the context)."""
        from handout.templating import render_template, template_path

        article = context["article"]
        assert isinstance(article, Article)
        parts: dict[int, Part] = {}
        with use_language(article.language):
            markup = render_template(self.env, template, context, SHARED_NAMES, parts)
        return parse_document(markup, template_path(self.env, template), parts)

    def _common(self, article: Article, qr_url: str | None) -> dict[str, object]:
        url = check_url(qr_url) if qr_url else self.brand.resources_url
        return {
            "article": article,
            "brand": self.brand.for_templates(),
            "lang": self.lang_for(article.language),
            "large_print": self.large_print,  # a template may arrange its parts for the larger type (plan.xml.j2)
            "qr_url": url,
            "qr_url_display": display_url(url),
        }

    def leaflet_document(self, article: Article, qr_url: str | None = None) -> Document:
        context = self._common(article, qr_url)
        if not self.keep_leaflet_text or qr_url is not None:  # an address given for this leaflet may carry a token: never kept
            return self.document(LEAFLET_TEMPLATE, context)
        from handout.leaflet_text import FilledLeaflet, filled_leaflet

        def fill() -> FilledLeaflet:
            from handout.templating import render_template, template_path

            with use_language(article.language):
                text = render_template(self.env, LEAFLET_TEMPLATE, context, SHARED_NAMES)  # whole: no markers for a parser of this process
            return FilledLeaflet(text, template_path(self.env, LEAFLET_TEMPLATE))

        filled = filled_leaflet(self.template_folders, context, fill)
        return parse_document(filled.text, filled.source)

    @cached_property
    def _trifold(self) -> TrifoldRenderer:
        """The tri-fold layout's renderer, built on first use (its seven style sets), then reused like `pdf`."""
        from handout.render.trifold import TrifoldRenderer

        return TrifoldRenderer(self.brand, self.paper)

    def leaflet(self, article: Article, qr_url: str | None = None, layout: str = "standard") -> bytes:
        """The branded leaflet PDF for an article, dated the day it is made.

        `layout` "standard": portrait pages; "trifold": one landscape sheet, both sides, that folds in three (render/trifold.py).
        """
        if layout not in ("standard", "trifold"):
            raise ValueError(f"unknown leaflet layout {layout!r}")
        document = self.leaflet_document(article, qr_url)
        if layout == "trifold":
            from handout.render.trifold import NO_LARGE_PRINT

            if self.large_print:
                raise HandoutError(NO_LARGE_PRINT)
            with use_language(article.language):  # the brand's words in the leaflet's language
                return self._trifold.render(document, document_date(dt.date.today()))
        with use_language(article.language):  # the page label
            return self.pdf.render(document, document_date(dt.date.today()))

    def plan_document(
        self,
        patient: Patient,
        plan: Plan,
        article: Article,
        issued: dt.date,
        with_article: bool = False,
        qr_url: str | None = None,
        continued: Any = None,
    ) -> Document:
        context = {
            **self._common(article, qr_url),
            "title": self.plan_title(article.language),
            "patient": patient,
            "plan": plan,
            "issued": issued,
            "with_article": with_article,
            "diary_tag": plan_tag(patient.name, issued),  # tells two plans' diary pages apart, never says whose
            "continued": continued,  # diary/continuation.py's Continuation when the plan follows a diary read back
        }
        return self.document(PLAN_TEMPLATE, context)

    def plan(
        self,
        patient: Patient,
        plan: Plan,
        article: Article,
        issued: dt.date,
        with_article: bool = False,
        qr_url: str | None = None,
    ) -> bytes:
        """A patient's walking plan and diary as a PDF, dated the day it is issued."""
        return self.plan_with_diary(patient, plan, article, issued, with_article, qr_url)[0]

    def plan_with_diary(
        self, patient: Patient, plan: Plan, article: Article, issued: dt.date, with_article: bool = False, qr_url: str | None = None, continued: Any = None
    ) -> tuple[bytes, list[Any]]:
        """The plan's PDF and the layout of each of its diary pages (diary/layout.py), for `--diary-map`."""
        pdf, pages, _ = self.plan_with_document(patient, plan, article, issued, with_article, qr_url, continued)
        return pdf, pages

    def plan_with_document(
        self, patient: Patient, plan: Plan, article: Article, issued: dt.date, with_article: bool = False, qr_url: str | None = None, continued: Any = None
    ) -> tuple[bytes, list[Any], Document]:
        """As `plan_with_diary`, and the document the PDF was drawn from: a page showing the plan's words reads them here, not from a second fill."""
        document = self.plan_document(patient, plan, article, issued, with_article, qr_url, continued)
        with use_language(article.language):  # the page label
            pdf, pages = self.pdf.render_with_diary(document, document_date(issued))
        return pdf, pages, document

    def to_print_list(
        self, entries: Sequence[ListedPlan], files: Sequence[str], pages: int, made: dt.date, part: int = 1, parts: int = 1, total: int | None = None
    ) -> bytes:
        """The sheet listing a patient list's plans to print, by row, patient_id and name, with a box to tick at hand-over.

        A long list's sheet comes in `parts`: this is part `part`, with `entries` of the `total` plans, in `files`.
        """
        by_file: dict[str, list[ListedPlan]] = {}
        for entry in entries:
            by_file.setdefault(entry.file, []).append(entry)
        context = {
            "brand": self.brand.for_templates(), "lang": self.lang_for("en"), "entries": tuple(entries), "files": tuple(files), "pages": pages, "made": made,
            "part": part, "parts": parts, "total": len(entries) if total is None else total,
            "by_file": tuple(ListedFile(file, tuple(listed)) for file, listed in by_file.items()),
        }  # fmt: skip
        from handout.templating import render_template, template_path

        with use_language("en"):  # staff's sheet: the clinic's own language, as the page is
            document = parse_document(render_template(self.env, TO_PRINT_TEMPLATE, context), template_path(self.env, TO_PRINT_TEMPLATE))
            return self.pdf.render(document, document_date(made))

    @staticmethod
    def plan_title(language: str) -> str:
        """The plan's title in `language`."""
        with use_language(language):
            return gettext(PLAN_TITLE)
