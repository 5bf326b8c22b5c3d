"""Loads and checks a clinic's brand folder (brand.toml, logo, optional templates)."""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from handout.checks import bidi_control, composed
from handout.errors import HandoutError
from handout.qr import check_url, remember_public
from handout.resources import default_brand_dir
from handout.toml_files import parse_toml

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET  # noqa: N817

BRAND_FILE = "brand.toml"
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 4000  # per side; a print logo at 600 dpi needs far fewer
MIN_TEXT_CONTRAST = 4.5
# The example brand's disclaimer: a brand that keeps it gets handout's translation of it (the catalogs have it).
EXAMPLE_DISCLAIMER = "General information only. It does not replace advice from your physiotherapist or doctor."
LOGO_DESCRIPTION = "{clinic} logo"  # a message: the logo's description when brand.toml gives none  # WCAG 2 AA for normal text: headings and links use the primary colour

REQUIRED_KEYS = ("name", "address", "phone", "primary_colour", "accent_colour", "logo", "resources_url", "disclaimer")
OPTIONAL_KEYS = ("email", "website", "locale", "logo_description")
# The brand's own words a document speaks: given per language in a [es] table (see README "Brand");
# a language without them gets the built-in translation of the example brand's disclaimer, or the
# brand's English words, tagged as English so a screen reader switches voice.
TRANSLATED_KEYS = ("disclaimer", "logo_description")
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
LOCALES = ("en-GB", "en-US", "en-IE", "en-AU", "en-NZ", "en-CA", "en-ZA", "en-IN")  # English, as the article is
# Longest accepted text per printed key. The masthead and footer wrap text of these
# lengths inside the page (a test renders them all); longer is refused with the limit.
# A web or email address breaks over two lines only after a "/", "." or "@" (or a hyphen between words
# of a long part), never mid-word: a part longer than this would not fit the tri-fold's 77 mm column.
MAX_ADDRESS_PART = 30
ADDRESS_BREAKS = re.compile(r"(?<=[/.@-])")
MAX_LENGTHS = {"name": 60, "address": 120, "phone": 30, "email": 80, "website": 60, "disclaimer": 180, "logo_description": 120}


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
    logo_description: str = ""  # what the logo shows, for screen readers; default "<name> logo"
    translations: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # language → (key, words): the [es] table

    def words(self, key: str, language: str) -> tuple[str, str | None]:
        """The brand's `key` ("disclaimer" or "logo_description") for a document in `language`, and the language it is
        in when that is not the document's (a screen reader must switch voice), else None.

        The brand's own words for that language; else, when the brand kept the example's words,
        handout's translation of them; else the brand's English, marked as its locale.
        """
        from handout.i18n import translations as catalog

        given = dict(dict(self.translations).get(language, ()))
        if key in given:
            return given[key], None
        english = self.disclaimer if key == "disclaimer" else self.logo_description
        if language == "en":
            return english or LOGO_DESCRIPTION.format(clinic=self.name), None
        if key == "logo_description" and not english:
            return catalog(language).gettext(LOGO_DESCRIPTION).format(clinic=self.name), None
        if key == "disclaimer" and english == EXAMPLE_DISCLAIMER:
            return catalog(language).gettext(EXAMPLE_DISCLAIMER), None
        return english, self.locale

    @property
    def templates_dir(self) -> Path | None:
        """The brand's own template overrides, if it has any."""
        folder = self.directory / "templates"
        return folder if folder.is_dir() else None

    def for_templates(self) -> BrandDetails:
        """The brand as templates see it: its words and colours, and its files by name only."""
        return BrandDetails(
            name=self.name,
            address=self.address,
            phone=self.phone,
            email=self.email,
            website=self.website,
            primary_colour=self.primary_colour,
            accent_colour=self.accent_colour,
            logo=self.logo.name,
            resources_url=self.resources_url,
            disclaimer=self.disclaimer,
            locale=self.locale,
        )


@dataclass(frozen=True)
class BrandDetails:
    """What templates print of a brand: plain values only (a template given the folder's path could reach its files)."""

    name: str
    address: str
    phone: str
    email: str
    website: str
    primary_colour: Colour
    accent_colour: Colour
    logo: str  # the file's name, as a template might mention it
    resources_url: str
    disclaimer: str
    locale: str


def ratio_text(ratio: float) -> str:
    """A contrast ratio as people read it ("4.4:1"), rounded down: 4.47 must not show as a passing 4.5."""
    return f"{math.floor(ratio * 10) / 10:.1f}:1"

def load_brand(directory: Path | None = None) -> Brand:
    """Read and check a brand folder; the built-in example brand when none is given.

    The first problem stops the command with one line (and how many more there are: `handout check` lists them all).
    """
    reading = read_brand(directory)
    if reading.problems:
        first, more = reading.problems[0].message, len(reading.problems) - 1
        if more:
            first += f" (and {more} more problem{'s' if more > 1 else ''}: `handout check --brand DIR` lists them all)"
        raise HandoutError(first)
    assert reading.brand is not None
    return reading.brand


@dataclass(frozen=True)
class BrandProblem:
    """One thing wrong in a brand folder: the key (empty for the folder or file itself) and the one line that says so and how to fix it."""

    key: str
    message: str


@dataclass(frozen=True)
class BrandReading:
    """A brand folder as read: every problem found, and a brand to check the rest with (a wrong value replaced by the example brand's), or None when the file cannot be read at all."""

    brand: Brand | None
    problems: tuple[BrandProblem, ...]


def _read_toml(path: Path) -> dict[str, object]:
    _regular_file(path, str(path), "", f" (a brand folder needs a {BRAND_FILE})")
    try:
        # utf-8-sig: Notepad and other editors save a byte-order mark, which TOML would take for a key.
        return parse_toml(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise HandoutError(f"{path}: file not found (a brand folder needs a {BRAND_FILE})") from None
    except UnicodeDecodeError:
        raise HandoutError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise HandoutError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError (not UTF-8 is caught above)
        raise HandoutError(f"{path}: not valid TOML: {exc}") from None


def read_brand(directory: Path | None = None) -> BrandReading:
    """Read a brand folder and check every value, collecting every problem rather than stopping at the first.

    The one set of rules: `load_brand` (every command) refuses on the first, `handout check` lists them all.
    """
    directory = default_brand_dir() if directory is None else directory
    if not directory.is_dir():
        return BrandReading(None, (BrandProblem("", f"{directory}: brand folder not found"),))
    path = directory / BRAND_FILE
    try:
        data = _read_toml(path)
    except HandoutError as exc:
        return BrandReading(None, (BrandProblem("", exc.message),))
    problems: list[BrandProblem] = []
    example = _read_toml(default_brand_dir() / BRAND_FILE)

    def problem(key: str, message: str) -> None:
        problems.append(BrandProblem(key, f"{path}: {message}"))
        values[key] = example[key] if key in example else ""

    from handout.i18n import available_languages

    languages = tuple(code for code in available_languages() if code != "en")
    texts: dict[str, dict[str, str]] = {}
    for code in languages:
        table = data.pop(code, None)
        if table is None:
            continue
        if not isinstance(table, dict):
            problems.append(BrandProblem(code, f"{path}: '{code}' must be a table ([{code}]) of the brand's words in that language"))
            continue
        wrong = sorted(set(table) - set(TRANSLATED_KEYS))
        if wrong:
            problems.append(BrandProblem(code, f"{path}: unknown key '{wrong[0]}' in [{code}] (allowed: {', '.join(TRANSLATED_KEYS)})"))
        texts[code] = {}
        for key in TRANSLATED_KEYS:
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                problems.append(BrandProblem(code, f"{path}: key '{key}' in [{code}] must be a non-empty text value on one line"))
            elif len(value.strip()) > MAX_LENGTHS[key]:
                problems.append(BrandProblem(code, f"{path}: key '{key}' in [{code}] is {len(value.strip())} characters; keep it to {MAX_LENGTHS[key]} so it fits the page"))
            else:
                texts[code][key] = composed(value.strip())
    values: dict[str, object] = dict(data)
    unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    for key in unknown:
        problems.append(BrandProblem(key, f"{path}: unknown key '{key}' (allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}, and a [{'] or ['.join(languages)}] table)"))
        values.pop(key)
    for key in REQUIRED_KEYS:
        if key not in data:
            problem(key, f"missing key '{key}'")
    for key, value in list(values.items()):
        if not isinstance(value, str) or not value.strip():
            problem(key, f"key '{key}' must be a non-empty text value in quotes")
        elif "\n" in value and key != "address":
            problem(key, f"key '{key}' must be on one line")
        elif (control := bidi_control(value)) is not None:
            problem(key, f"key '{key}' has the direction control U+{ord(control):04X}, which can disguise text; type it again without it")
    values = {key: composed(value) for key, value in values.items() if isinstance(value, str)}

    try:
        primary = _colour(path, "primary_colour", str(values["primary_colour"]))
        if primary.contrast_with_white() < MIN_TEXT_CONTRAST:
            problems.append(
                BrandProblem(
                    "primary_colour",
                    f"{path}: key 'primary_colour' {primary.hex} is too light for text "
                    f"(contrast {ratio_text(primary.contrast_with_white())} on white, needs {MIN_TEXT_CONTRAST}:1)",
                )
            )  # kept, not replaced: `handout check` measures it and names a dark enough shade
    except HandoutError as exc:
        problems.append(BrandProblem("primary_colour", exc.message))
        primary = _colour(path, "primary_colour", str(example["primary_colour"]))
    try:
        accent = _colour(path, "accent_colour", str(values["accent_colour"]))
    except HandoutError as exc:
        problems.append(BrandProblem("accent_colour", exc.message))
        accent = _colour(path, "accent_colour", str(example["accent_colour"]))
    locale = str(values.get("locale", "en-GB"))
    if locale not in LOCALES:
        problem("locale", f"key 'locale' must be one of {', '.join(LOCALES)} (the article is in English), not {locale!r}")
        locale = "en-GB"
    for key, limit in MAX_LENGTHS.items():
        length = len(str(values.get(key, "")).strip())
        if length > limit:
            problem(key, f"key '{key}' is {length} characters; keep it to {limit} so it fits the page")
    for key in ("website", "email"):
        part = max((piece.rstrip("/.@-") for piece in ADDRESS_BREAKS.split(str(values.get(key, "")))), key=len)
        if len(part) > MAX_ADDRESS_PART:
            # An address breaks over lines only after "/", "." or "@", never inside a word: a longer run could not be printed whole.
            problem(key, f"key '{key}' has '{part[:20]}…', {len(part)} characters with no '.', '/', '@' or '-' to break the line at; keep each part to {MAX_ADDRESS_PART}")
    try:
        resources_url = check_url(str(values["resources_url"]))
    except HandoutError as exc:
        problem("resources_url", f"key 'resources_url': {exc.message}")
        resources_url = check_url(str(values["resources_url"]))
    remember_public(resources_url)
    if "email" in values:
        from handout.checks import email_parts

        # Checked now, not when the first email is built: it becomes the Reply-To (or From) of every message.
        checked = email_parts(str(values["email"]))
        if checked is None:
            problem("email", "key 'email' must be one email address, such as hello@your-clinic.org")
        elif not checked.local_part.isascii():
            # Every message carries it, so any server must be able to take it; the domain may be international (IDNA).
            problem("email", "key 'email' must use plain ASCII letters before the @, so every mail server can deliver replies to it")
    try:
        logo = _checked_logo(path, directory / str(values["logo"]))
    except HandoutError as exc:
        problems.append(BrandProblem("logo", exc.message))
        logo = default_brand_dir() / str(example["logo"])
    brand = Brand(
        directory=directory,
        name=str(values["name"]).strip(),
        address=str(values["address"]).strip(),
        phone=str(values["phone"]).strip(),
        email=str(values.get("email", "")).strip(),
        website=str(values.get("website", "")).strip(),
        primary_colour=primary,
        accent_colour=accent,
        logo=logo,
        resources_url=resources_url,
        disclaimer=str(values["disclaimer"]).strip(),
        locale=locale,
        logo_description=str(values.get("logo_description", "")).strip(),
        translations=tuple((code, tuple(sorted(words.items()))) for code, words in sorted(texts.items())),
    )
    return BrandReading(brand, tuple(problems))


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


# The SVG checks below parse the logo with ElementTree, the same file every run: a logo that passed
# them is remembered in the private per-user cache under a key of its bytes and these rules (this
# file), so a later run skips ElementTree. A logo that fails is checked, and refused, every time.
SVG_CHECK_FORMAT = 1


def _check_svg(where: str, logo: Path) -> None:
    import hashlib
    import sys

    from handout import private_cache

    try:
        svg = logo.read_bytes()
    except OSError as exc:
        raise HandoutError(f"{where}: {logo.name} cannot be read ({exc.strerror})") from None
    digest = hashlib.sha256(f"{SVG_CHECK_FORMAT}|{sys.version}|".encode() + _own_bytes() + b"|" + svg)
    key = digest.hexdigest()
    if key in _SVG_PASSED:  # passed in this process: a server or an API caller reads the brand for every document
        return
    folder = private_cache.cache_folder("svg-checks")
    if private_cache.load(folder, key) is None:
        _parse_and_check_svg(where, logo)
        private_cache.store(folder, key, {"passed": True}, 16)
    if len(_SVG_PASSED) < 64:
        _SVG_PASSED.add(key)


_SVG_PASSED: set[str] = set()  # keys of logos that passed the checks in this process


@cache
def _own_bytes() -> bytes:
    """This file's bytes, as the running checks were read from it (once per process)."""
    return Path(__file__).read_bytes()


def _parse_and_check_svg(where: str, logo: Path) -> None:
    import xml.etree.ElementTree as ET  # noqa: N817 - the usual name

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
