"""Loads patient-education articles from their TOML content files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handout.errors import HandoutError
from handout.resources import templates_dir
from handout.toml_files import parse_toml

DEFAULT_ARTICLE = "walking-lower-back-pain"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Item:
    """One point of a section: an optional bold lead and its text."""

    title: str
    text: str


@dataclass(frozen=True)
class Section:
    """A headed part of the article with its points."""

    heading: str
    items: tuple[Item, ...]
    lead_in: str = ""
    closing: str = ""


@dataclass(frozen=True)
class Article:
    """A patient-education article, word for word as it reaches the patient."""

    id: str
    language: str
    title: str
    keywords: tuple[str, ...]
    benefits: Section
    tips: Section
    warnings: Section

    def sentences_source(self) -> tuple[str, ...]:
        """Every string of the article in reading order (for checks and reading-level tools)."""
        parts: list[str] = [self.title]
        for section in (self.benefits, self.tips, self.warnings):
            parts.append(section.heading)
            if section.lead_in:
                parts.append(section.lead_in)
            for item in section.items:
                parts.extend(p for p in (item.title, item.text) if p)
            if section.closing:
                parts.append(section.closing)
        return tuple(parts)


def articles_dir() -> Path:
    """The folder of built-in article content files."""
    return templates_dir() / "articles"


def available_articles() -> tuple[str, ...]:
    """Built-in articles as `id.language` names."""
    return tuple(sorted(p.name.removesuffix(".toml") for p in articles_dir().glob("*.toml")))


def load_article(name: str = DEFAULT_ARTICLE, language: str = DEFAULT_LANGUAGE) -> Article:
    """Load a built-in article by id and language, or an article file by path."""
    path = Path(name)
    if path.suffix != ".toml":
        path = articles_dir() / f"{name}.{language}.toml"
        if not path.is_file():
            known = ", ".join(available_articles())
            raise HandoutError(f"no article '{name}' in language '{language}' (built in: {known})")
    return read_article(path)


def read_article(path: Path) -> Article:
    """Parse and check one article content file."""
    try:
        data = parse_toml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandoutError(f"{path}: article file not found") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError, or UnicodeDecodeError
        raise HandoutError(f"{path}: not a valid TOML article: {exc}") from None
    reader = _Reader(path, data)
    return Article(
        id=reader.text("id"),
        language=reader.text("language"),
        title=reader.text("title"),
        keywords=tuple(reader.texts("keywords")),
        benefits=reader.section("benefits"),
        tips=reader.section("tips"),
        warnings=reader.section("warnings"),
    )


class _Reader:
    """Pulls typed values out of parsed TOML and names file and key when one is wrong."""

    def __init__(self, path: Path, data: dict[str, object]) -> None:
        self.path = path
        self.data = data

    def _fail(self, key: str, problem: str) -> HandoutError:
        return HandoutError(f"{self.path}: key '{key}' {problem}")

    def text(self, key: str, table: dict[str, object] | None = None, prefix: str = "", required: bool = True) -> str:
        value = (self.data if table is None else table).get(key, None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise self._fail(prefix + key, "must be a non-empty string")
        return value

    def texts(self, key: str, table: dict[str, object] | None = None, prefix: str = "") -> list[str]:
        value = (self.data if table is None else table).get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self._fail(prefix + key, "must be a list of non-empty strings")
        return value

    def section(self, key: str) -> Section:
        table = self.data.get(key)
        if not isinstance(table, dict):
            raise self._fail(key, "must be a table")
        prefix = f"{key}."
        raw_items = table.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise self._fail(prefix + "items", "must be a non-empty list")
        items: list[Item] = []
        for index, raw in enumerate(raw_items, start=1):
            where = f"{prefix}items[{index}]."
            if isinstance(raw, str):
                items.append(Item(title="", text=raw))
            elif isinstance(raw, dict):
                items.append(Item(title=self.text("title", raw, where, required=False), text=self.text("text", raw, where)))
            else:
                raise self._fail(f"{prefix}items[{index}]", "must be a string or a table with title and text")
        return Section(
            heading=self.text("heading", table, prefix),
            items=tuple(items),
            lead_in=self.text("lead_in", table, prefix, required=False),
            closing=self.text("closing", table, prefix, required=False),
        )
