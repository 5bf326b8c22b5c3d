"""Finds the built-in templates and assets (in a wheel install or a source checkout) and a clinic's own template folders."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from handout.errors import HandoutError

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


def clinic_template_folders(brand_templates: Path | None, template_dirs: Sequence[Path] = ()) -> tuple[Path, ...]:
    """A clinic's template folders in the order templates are looked for (--templates folders, then the brand's templates/; the built-ins come after)."""
    return checked_template_folders([*template_dirs, *([brand_templates] if brand_templates is not None else [])])


def checked_template_folders(folders: Sequence[Path]) -> tuple[Path, ...]:
    """The folders, each checked to be one: a mistyped --templates is said before anything is made."""
    for folder in folders:
        if not folder.is_dir():
            raise HandoutError(f"{folder}: templates folder not found")
    return tuple(folders)
