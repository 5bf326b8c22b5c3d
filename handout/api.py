"""handout from Python: a leaflet or a walking plan as PDF bytes, with the command line's checks and one-line messages.

    import datetime as dt
    from handout.api import HandoutError, render_plan

    try:
        pdf = render_plan(patient="Jane Doe", clinician="Sam Lee", start_date=dt.date(2027, 1, 4))
    except HandoutError as error:
        print(error.message)  # the line `handout plan` would print after "handout: error: "

Both functions go through the same service layer (handout.service) as `handout leaflet`,
`handout plan` and the web page, so the same inputs give byte-identical PDFs and the same
mistakes give the same sentences. What a clinic's staff could get wrong (a name, a number out
of range, a brand folder, a template) raises HandoutError; a value of the wrong Python type
(a string where a number goes) is a programming mistake and raises TypeError.

A brand is a folder path or a Brand from `load_brand`; the brand, templates and paper are
prepared once per process (fonts, compiled templates) and reused by later calls with the same
ones. Renders in one process take turns (ReportLab is not made for threads); for several at
once, use processes.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from handout.brand import Brand
from handout.brand import load_brand as _load_brand
from handout.checks import password_problem
from handout.errors import HandoutError, UsageError
from handout.plan import DEFAULT_START_MINUTES, DEFAULT_WALKS_PER_WEEK, DEFAULT_WEEKS
from handout.service import Clinic, PlanForm, check_plan_form

__all__ = ["PAPERS", "LAYOUTS", "Brand", "HandoutError", "languages", "load_brand", "render_leaflet", "render_plan"]

PAPERS = ("a4", "letter")
LAYOUTS = ("standard", "trifold")

BrandSource = Brand | str | os.PathLike[str] | None
"""A brand folder's path, a Brand from `load_brand`, or None for the built-in example clinic."""

_T = TypeVar("_T")
_RENDERING = threading.Lock()  # one render at a time per process: renderers keep per-document state while drawing


def load_brand(folder: str | os.PathLike[str] | None = None) -> Brand:
    """Read and check a brand folder (brand.toml and logo), as `--brand` does; None: the built-in example clinic."""
    return _load_brand(None if folder is None else Path(folder))


def languages() -> tuple[str, ...]:
    """The language codes documents can be made in (such as "en", "es")."""
    from handout.i18n import available_languages

    return available_languages()


def render_leaflet(
    *,
    brand: BrandSource = None,
    templates: str | os.PathLike[str] | None = None,
    language: str = "en",
    large_print: bool = False,
    paper: str = "a4",
    layout: str = "standard",
    qr_url: str | None = None,
) -> bytes:
    """The waiting-room leaflet as PDF bytes, exactly as `handout leaflet` writes it with the same options.

    `layout` "standard" gives portrait pages, "trifold" one landscape sheet that folds in three
    (not in large print). `qr_url` is the page the QR code opens (default: the brand's
    resources_url). Raises HandoutError with the command line's message for any mistake.
    """
    from handout.checks import qr_url as checked_qr_url
    from handout.i18n import checked_language

    paper = _choice("--paper", paper, PAPERS)
    layout = _choice("--layout", layout, LAYOUTS)
    checked = checked_language("--lang", _text("language", language))
    url = checked_qr_url(None if qr_url is None else _text("qr_url", qr_url))
    clinic = _clinic(_brand(brand), _template_dirs(templates), paper)
    return _one_at_a_time(lambda: clinic.leaflet(checked, url, _flag("large_print", large_print), layout))


def render_plan(
    *,
    patient: str,
    clinician: str = "",
    start_date: dt.date | None = None,
    issued: dt.date | None = None,
    start_minutes: int = DEFAULT_START_MINUTES,
    target_minutes: int | None = None,
    walks_per_week: int = DEFAULT_WALKS_PER_WEEK,
    weeks: int = DEFAULT_WEEKS,
    with_article: bool = False,
    qr_url: str | None = None,
    password: str | None = None,
    brand: BrandSource = None,
    templates: str | os.PathLike[str] | None = None,
    language: str = "en",
    large_print: bool = False,
    paper: str = "a4",
) -> bytes:
    """A patient's walking plan and diary as PDF bytes, exactly as `handout plan` writes it with the same options.

    `issued` is the day the plan is made (default today): the PDF's date, and the day a plan
    without `start_date` starts. `target_minutes` None builds up to 30 minutes, or holds the
    start when that is higher. `password` locks the PDF (AES-256), as `--encrypt` does; a
    locked PDF is not byte-identical between calls (each lock has a fresh salt). Raises
    HandoutError with the command line's message for any mistake.
    """
    paper = _choice("--paper", paper, PAPERS)
    today = dt.date.today() if issued is None else _date("issued", issued)
    form = PlanForm(
        patient=_text("patient", patient),
        clinician=_text("clinician", clinician),
        start_minutes=_number("start_minutes", start_minutes),
        target_minutes="" if target_minutes is None else _number("target_minutes", target_minutes),
        walks_per_week=_number("walks_per_week", walks_per_week),
        weeks=_number("weeks", weeks),
        start_date="" if start_date is None else _date("start_date", start_date).isoformat(),
        language=_text("language", language),
        large_print=_flag("large_print", large_print),
        with_article=_flag("with_article", with_article),
        qr_url="" if qr_url is None else _text("qr_url", qr_url),
        encrypt=password is not None,
        password="" if password is None else _text("password", password),
    )
    if password == "":  # asked to lock with no password: refused by the password rule, never left unlocked
        raise UsageError(f"the PDF password {password_problem(password)}")
    order = check_plan_form(form, today)
    clinic = _clinic(_brand(brand), _template_dirs(templates), paper)
    return _one_at_a_time(lambda: clinic.plan(order, today))


@lru_cache(maxsize=16)
def _clinic(brand: Brand, template_dirs: tuple[Path, ...], paper: str) -> Clinic:
    """A clinic per brand, templates and paper, kept so later documents reuse its fonts, styles and compiled templates."""
    return Clinic(brand, template_dirs, paper)


def _one_at_a_time(render: Callable[[], _T]) -> _T:
    with _RENDERING:
        return render()


def _brand(brand: BrandSource) -> Brand:
    if isinstance(brand, Brand):
        return brand
    if brand is None or isinstance(brand, str | os.PathLike):
        return load_brand(brand)  # read every call, as the command line does: a clinic may have edited it since
    raise TypeError(f"brand must be a folder path or a Brand from load_brand(), not {type(brand).__name__}")


def _template_dirs(templates: str | os.PathLike[str] | None) -> tuple[Path, ...]:
    if templates is None:
        return ()
    if not isinstance(templates, str | os.PathLike):
        raise TypeError(f"templates must be a folder path, not {type(templates).__name__}")
    return (Path(templates),)


def _choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    """A choice as the command line takes it (any case), or its message for a value that is none of them."""
    text = _text(option.removeprefix("--"), value)
    if text.lower() in choices:
        return text.lower()
    raise UsageError(f"Invalid value for '{option}': {text!r} is not one of {', '.join(map(repr, choices))}.")


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _number(name: str, value: object) -> str:
    """A whole number, as typed on the command line: its range is checked by the plan rule, with the option's message."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return str(value)


def _date(name: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{name} must be a datetime.date, not {type(value).__name__}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value
