"""Loads and checks a clinic's brand folder (brand.toml, logo, optional templates)."""

from __future__ import annotations

import math
import re
import shutil
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from handout.checks import bidi_control, composed
from handout.errors import HandoutError
from handout.qr import check_url
from handout.resources import default_brand_dir

BRAND_FILE = "brand.toml"
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 4000  # per side; a print logo at 600 dpi needs far fewer
MIN_TEXT_CONTRAST = 4.5  # WCAG 2 AA for normal text: headings and links use the primary colour

REQUIRED_KEYS = ("name", "address", "phone", "primary_colour", "accent_colour", "logo", "resources_url", "disclaimer")
OPTIONAL_KEYS = ("email", "website", "locale")
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
LOCALES = ("en-GB", "en-US", "en-IE", "en-AU", "en-NZ", "en-CA", "en-ZA", "en-IN")  # English, as the article is
# Longest accepted text per printed key. The masthead and footer wrap text of these
# lengths inside the page (a test renders them all); longer is refused with the limit.
MAX_LENGTHS = {"name": 60, "address": 120, "phone": 30, "email": 80, "website": 60, "disclaimer": 180}


@dataclass(frozen=True)
class Colour:
    """An sRGB colour given as #RRGGBB."""

    hex: str

    @property
    def rgb(self) -> tuple[float, float, float]:
        """Channels from 0 to 1."""
        return tuple(int(self.hex[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]

    def contrast_with_white(self) -> float:
        """WCAG 2 contrast ratio between this colour and white paper."""

        def linear(c: float) -> float:
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (linear(c) for c in self.rgb)
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        return 1.05 / (luminance + 0.05)


@dataclass(frozen=True)
class Brand:
    """A clinic's identity as printed on every document."""

    directory: Path
    name: str
    address: str
    phone: str
    email: str
    website: str
    primary_colour: Colour
    accent_colour: Colour
    logo: Path
    resources_url: str
    disclaimer: str
    locale: str = "en-GB"

    @property
    def templates_dir(self) -> Path | None:
        """The brand's own template overrides, if it has any."""
        folder = self.directory / "templates"
        return folder if folder.is_dir() else None



def ratio_text(ratio: float) -> str:
    """A contrast ratio as people read it ("4.4:1"), rounded down: 4.47 must not show as a passing 4.5."""
    return f"{math.floor(ratio * 10) / 10:.1f}:1"

def load_brand(directory: Path | None = None, *, refuse_light_primary: bool = True) -> Brand:
    """Read and check a brand folder; the built-in example brand when none is given.

    `handout check` passes `refuse_light_primary=False` so a too-light primary colour is reported with its fix, not refused.
    """
    directory = default_brand_dir() if directory is None else directory
    if not directory.is_dir():
        raise HandoutError(f"{directory}: brand folder not found")
    path = directory / BRAND_FILE
    _regular_file(path, str(path), "", f" (a brand folder needs a {BRAND_FILE})")
    try:
        # utf-8-sig: Notepad and other editors save a byte-order mark, which TOML would take for a key.
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise HandoutError(f"{path}: file not found (a brand folder needs a {BRAND_FILE})") from None
    except UnicodeDecodeError:
        raise HandoutError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise HandoutError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise HandoutError(f"{path}: not valid TOML: {exc}") from None

    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise HandoutError(f"{path}: unknown key '{unknown[0]}' (allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise HandoutError(f"{path}: missing key '{key}'")
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise HandoutError(f"{path}: key '{key}' must be a non-empty text value in quotes")
        if "\n" in value and key != "address":
            raise HandoutError(f"{path}: key '{key}' must be on one line")
        control = bidi_control(value)
        if control is not None:
            raise HandoutError(f"{path}: key '{key}' has the direction control U+{ord(control):04X}, which can disguise text; type it again without it")
    data = {key: composed(value) for key, value in data.items()}  # accents joined to their letters, as drawn

    primary = _colour(path, "primary_colour", data["primary_colour"])
    if refuse_light_primary and primary.contrast_with_white() < MIN_TEXT_CONTRAST:
        raise HandoutError(
            f"{path}: key 'primary_colour' {primary.hex} is too light for text "
            f"(contrast {ratio_text(primary.contrast_with_white())} on white, needs {MIN_TEXT_CONTRAST}:1)"
        )
    locale = data.get("locale", "en-GB")
    if locale not in LOCALES:
        raise HandoutError(f"{path}: key 'locale' must be one of {', '.join(LOCALES)} (the article is in English), not {locale!r}")
    for key, limit in MAX_LENGTHS.items():
        length = len(data.get(key, "").strip())
        if length > limit:
            raise HandoutError(f"{path}: key '{key}' is {length} characters; keep it to {limit} so it fits the page")
    try:
        resources_url = check_url(data["resources_url"])
    except HandoutError as exc:
        raise HandoutError(f"{path}: key 'resources_url': {exc.message}") from None
    if "email" in data:
        from handout.checks import email_parts

        # Checked now, not when the first email is built: it becomes the Reply-To (or From) of every message.
        checked = email_parts(data["email"])
        if checked is None:
            raise HandoutError(f"{path}: key 'email' must be one email address, such as hello@your-clinic.org")
        if not checked.local_part.isascii():
            # Every message carries it, so any server must be able to take it; the domain may be international (IDNA).
            raise HandoutError(f"{path}: key 'email' must use plain ASCII letters before the @, so every mail server can deliver replies to it")
    return Brand(
        directory=directory,
        name=data["name"].strip(),
        address=data["address"].strip(),
        phone=data["phone"].strip(),
        email=data.get("email", "").strip(),
        website=data.get("website", "").strip(),
        primary_colour=primary,
        accent_colour=_colour(path, "accent_colour", data["accent_colour"]),
        logo=_checked_logo(path, directory / data["logo"]),
        resources_url=resources_url,
        disclaimer=data["disclaimer"].strip(),
        locale=locale,
    )


def _colour(path: Path, key: str, value: str) -> Colour:
    value = value.strip()
    if not _HEX_COLOUR.fullmatch(value):
        raise HandoutError(f"{path}: key '{key}' must be a colour like #1F5F8B, not {value!r}")
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return Colour(value.upper())


def _regular_file(path: Path, where: str, label: str, needed_for: str = "") -> None:
    """Refuse anything but a regular file before reading it: a named pipe would wait for ever, /dev/zero never end.

    Messages start with `where`, then `label` (the file's name, or "" when `where` is its path).
    """
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise HandoutError(f"{where}: file {path} not found" if label else f"{where}: file not found{needed_for}") from None
    except OSError as exc:
        raise HandoutError(f"{where}: {label}cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
        raise HandoutError(f"{where}: {label}is {kind}, not a regular file; give the name of a file")


def _checked_logo(brand_file: Path, logo: Path) -> Path:
    where = f"{brand_file}: key 'logo'"
    _regular_file(logo, where, f"{logo} ")
    size = logo.stat().st_size
    if size > MAX_LOGO_BYTES:
        raise HandoutError(f"{where}: {logo.name} is {size / 1e6:.1f} MB; use a logo under {MAX_LOGO_BYTES // 2**20} MB")
    suffix = logo.suffix.lower()
    if suffix == ".png":
        _check_png(where, logo)
    elif suffix == ".svg":
        _check_svg(where, logo)
    else:
        raise HandoutError(f"{where}: {logo.name} must be a PNG or SVG file")
    return logo


def _check_png(where: str, logo: Path) -> None:
    import struct
    import warnings

    from PIL import Image  # Pillow comes with ReportLab, which needs it for PNGs anyway

    with logo.open("rb") as stream:
        header = stream.read(24)
    if header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR":
        # Read from the header, before Pillow: it refuses a huge image as a "decompression bomb", which would read as damaged.
        width, height = struct.unpack(">II", header[16:24])
        if max(width, height) > MAX_LOGO_PIXELS:
            raise HandoutError(f"{where}: {logo.name} is too large, {width}×{height} pixels; use at most {MAX_LOGO_PIXELS} on each side")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image_context = Image.open(logo)
        with image_context as image:
            if image.format != "PNG":
                raise HandoutError(f"{where}: {logo.name} is not a PNG image")
            width, height = image.size
            if max(width, height) > MAX_LOGO_PIXELS:
                raise HandoutError(f"{where}: {logo.name} is too large, {width}×{height} pixels; use at most {MAX_LOGO_PIXELS} on each side")
            image.load()
    except HandoutError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise HandoutError(f"{where}: {logo.name} is too large; use at most {MAX_LOGO_PIXELS} pixels on each side") from None
    except Exception:  # Pillow raises many types for a damaged file; all mean the same to a clinic
        raise HandoutError(f"{where}: {logo.name} is damaged or not a PNG image") from None


def _check_svg(where: str, logo: Path) -> None:
    try:
        root = ET.parse(logo).getroot()
    except ET.ParseError as exc:
        raise HandoutError(f"{where}: {logo.name} is not a valid SVG file ({exc})") from None
    except OSError as exc:
        raise HandoutError(f"{where}: {logo.name} cannot be read ({exc.strerror})") from None
    if root.tag.rpartition("}")[2] != "svg":
        raise HandoutError(f"{where}: {logo.name} is XML but not an SVG image")
    reference = _external_reference(root, logo)
    if reference is not None:
        raise HandoutError(
            f"{where}: {logo.name} {reference} outside the logo file; "
            "use a self-contained SVG (pictures inside it as data: URIs) or a PNG"
        )


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]*)""", re.IGNORECASE)


def _external_reference(root: ET.Element, logo: Path) -> str | None:
    """How an SVG reaches outside itself ("refers to 'x.png'", "uses a CSS @import"), if it does.

    Any such reference could read a file outside the brand folder when the logo is
    drawn, so the rule is simply: none at all. In-document #fragments and data: URIs
    are allowed.
    """

    def external(target: str) -> bool:
        target = target.strip()
        return bool(target) and not target.startswith("#") and not target.lower().startswith("data:")

    if b"<?xml-stylesheet" in logo.read_bytes():
        return "uses an xml-stylesheet"
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.rpartition("}")[2] == "href" and external(value):
                return f"refers to {value[:60]!r}"
            for target in _CSS_URL.findall(value):
                if external(target):
                    return f"refers to {target[:60]!r}"
        if element.tag.rpartition("}")[2] == "style" and element.text:
            if "@import" in element.text.lower():
                return "uses a CSS @import"
            for target in _CSS_URL.findall(element.text):
                if external(target):
                    return f"refers to {target[:60]!r}"
    return None


def init_brand(target: Path) -> Path:
    """Copy the built-in example brand into `target` as a clinic's starting point."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise HandoutError(f"{target}: already exists and is not an empty folder; choose a new folder")
    source = default_brand_dir()
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
    except OSError as exc:
        raise HandoutError(f"{target}: cannot create the brand folder ({exc.strerror})") from None
    return target
