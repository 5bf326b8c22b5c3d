"""The leaflet pipeline: article + brand → template → document blocks → PDF bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from handout.brand import Brand
from handout.content import Article
from handout.document import Document, parse_document
from handout.qr import check_url
from handout.render.pdf import PdfRenderer
from handout.templating import make_environment, render_template

LEAFLET_TEMPLATE = "leaflet.xml.j2"


def display_url(url: str) -> str:
    """The URL as printed for people to type: without the scheme, which nobody types."""
    return url.split("://", 1)[1].rstrip("/") if "://" in url else url


@dataclass
class Renderer:
    """Everything prepared once per process (templates, fonts, styles) to render many documents."""

    brand: Brand
    paper: str = "a4"
    template_dirs: Sequence[Path] = ()
    env: jinja2.Environment = field(init=False)
    pdf: PdfRenderer = field(init=False)

    def __post_init__(self) -> None:
        overrides = [*self.template_dirs]
        if self.brand.templates_dir is not None:
            overrides.append(self.brand.templates_dir)
        self.env = make_environment(overrides)
        self.pdf = PdfRenderer(self.brand, self.paper)

    def lang_for(self, language: str) -> str:
        """The document language tag: the brand's locale when it is the same language (en → en-GB)."""
        return self.brand.locale if self.brand.locale.split("-")[0] == language else language

    def document(self, template: str, context: Mapping[str, object]) -> Document:
        """Fill a template and parse it into blocks."""
        return parse_document(render_template(self.env, template, context), template)

    def leaflet_document(self, article: Article, qr_url: str | None = None) -> Document:
        url = check_url(qr_url) if qr_url else self.brand.resources_url
        context = {
            "article": article,
            "brand": self.brand,
            "lang": self.lang_for(article.language),
            "qr_url": url,
            "qr_url_display": display_url(url),
        }
        return self.document(LEAFLET_TEMPLATE, context)

    def leaflet(self, article: Article, qr_url: str | None = None) -> bytes:
        """The branded leaflet PDF for an article."""
        return self.pdf.render(self.leaflet_document(article, qr_url))
