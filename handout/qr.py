"""Checks resource URLs and builds their QR code module matrix (drawing happens in render/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from handout.errors import HandoutError

MAX_URL_LENGTH = 300  # past this the code gets dense and scans badly from paper
QUIET_ZONE = 4  # modules of white on every side (ISO/IEC 18004)


def check_url(url: str) -> str:
    """Return the URL if a patient's phone can open it from a printed QR code, else fail clearly."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise HandoutError(f"the QR URL is {len(url)} characters long; use a short link of at most {MAX_URL_LENGTH}")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise HandoutError(f"the QR URL is not a valid web address: {url[:60]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HandoutError(f"the QR URL must start with https:// or http:// and name a website, not {url[:60]!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise HandoutError("the QR URL must not contain spaces or control characters")
    if parts.username is not None or parts.password is not None:
        # Printed on paper for every patient to scan: a login there is a leaked login, and phones refuse such links.
        raise HandoutError("the QR URL must not contain a user name or password (user:password@); link to a public page")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise HandoutError(f"the QR URL has an impossible port (after the ':', it must be a number from 1 to 65535): {url[:60]!r}")
    if not parts.hostname:
        raise HandoutError(f"the QR URL names no website (nothing between // and the next / or :): {url[:60]!r}")
    return url


# The matrix of a URL is the same every run, and making it takes the qrcode package and its
# mask trials (about a twentieth of `handout leaflet`'s start): it is kept in the user's cache
# under a key of the URL, the qrcode version and how the code is made (this file), the newest MAX_KEPT.
QR_FORMAT = 1
MAX_KEPT = 64
# Only a brand's own resources address is kept on disk: an address given for one plan (--qr-url, the
# front desk's field) may carry a patient's token, and a kept code decodes back to it.
_PUBLIC: set[str] = set()


def remember_public(url: str) -> None:
    """Mark `url` as a brand's published resources address, whose code may be kept in the user's cache."""
    _PUBLIC.add(url)


@lru_cache(maxsize=32)
def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """Dark/light modules of the URL's QR code, quiet zone included, error correction M."""
    if url not in _PUBLIC:
        return _made_matrix(url)
    import hashlib

    from handout import private_cache

    digest = hashlib.sha256(f"{url}|{QR_FORMAT}|M|{QUIET_ZONE}|{private_cache.installed_version('qrcode', 'main.py')}|".encode())
    digest.update(Path(__file__).read_bytes())  # how the code is made (this file)
    key = digest.hexdigest()
    folder = private_cache.cache_folder("qr")
    kept = _rows(private_cache.load(folder, key))
    if kept is not None:
        return kept
    matrix = _made_matrix(url)
    private_cache.store(folder, key, {"rows": ["".join("1" if dark else "0" for dark in row) for row in matrix]}, MAX_KEPT)
    return matrix


def _rows(kept: dict[str, object] | None) -> tuple[tuple[bool, ...], ...] | None:
    """A kept matrix, if it is one (square, of 0s and 1s); else None, and it is made again."""
    rows = None if kept is None else kept.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(row, str) and len(row) == len(rows) and set(row) <= {"0", "1"} for row in rows):
        return None
    return tuple(tuple(cell == "1" for cell in row) for row in rows)


def _made_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    import qrcode  # here, not at the top: checking a brand's URL should not pay for importing it
    import qrcode.constants

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(url)
    code.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in code.get_matrix())
