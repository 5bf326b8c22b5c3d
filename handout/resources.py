"""Finds the built-in templates and assets, in a wheel install or a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _data_dir(name: str) -> Path:
    # A wheel carries templates/ and assets/ inside the package (see pyproject's
    # force-include); an editable install or a checkout has them beside it.
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"handout is installed without its {name}/ folder")


def templates_dir() -> Path:
    """The built-in Jinja templates and article content."""
    return _data_dir("templates")


def assets_dir() -> Path:
    """The built-in assets: the default brand."""
    return _data_dir("assets")


def default_brand_dir() -> Path:
    """The fictional brand that `handout leaflet` uses when no --brand is given."""
    return assets_dir() / "brand"
