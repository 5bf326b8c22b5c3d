"""A bad brand folder gives one line naming the file and key, exit 1, and no output file."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from handout.brand import load_brand
from handout.cli import app

from conftest import set_brand_value


def break_missing_key(brand: Path) -> None:
    path = brand / "brand.toml"
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith("phone =")), encoding="utf-8")


def break_unknown_key(brand: Path) -> None:
    with (brand / "brand.toml").open("a", encoding="utf-8") as stream:
        stream.write('fax = "01632 960 999"\n')


def write_png(brand: Path, size: tuple[int, int]) -> None:
    Image.new("RGB", size, "white").save(brand / "logo.png")
    set_brand_value(brand, "logo", '"logo.png"')


CASES = {
    "not TOML": (lambda b: (b / "brand.toml").write_text("name = Example Clinic\n", encoding="utf-8"), ["brand.toml", "not valid TOML"]),
    "missing key": (break_missing_key, ["brand.toml", "missing key 'phone'"]),
    "unknown key": (break_unknown_key, ["brand.toml", "unknown key 'fax'"]),
    "bad colour": (lambda b: set_brand_value(b, "primary_colour", '"blue-ish"'), ["brand.toml", "primary_colour", "blue-ish"]),
    "too light colour": (lambda b: set_brand_value(b, "primary_colour", '"#FFE066"'), ["primary_colour", "contrast"]),
    "wrong type": (lambda b: set_brand_value(b, "phone", "1632960123"), ["phone", "in quotes"]),
    "missing logo": (lambda b: (b / "logo.svg").unlink(), ["key 'logo'", "not found"]),
    "corrupt svg logo": (lambda b: (b / "logo.svg").write_text("<svg><g></svg>", encoding="utf-8"), ["key 'logo'", "logo.svg", "not a valid SVG"]),
    "corrupt png logo": (lambda b: ((b / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20), set_brand_value(b, "logo", '"logo.png"')), ["key 'logo'", "logo.png", "damaged"]),
    "logo not an image": (lambda b: ((b / "logo.gif").write_bytes(b"GIF89a"), set_brand_value(b, "logo", '"logo.gif"')), ["key 'logo'", "PNG or SVG"]),
    "huge logo pixels": (lambda b: write_png(b, (6000, 300)), ["key 'logo'", "6000×300 pixels"]),
    "huge logo file": (lambda b: (b / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'>" + "<!-- padding -->" * 200_000 + "</svg>", encoding="utf-8"), ["key 'logo'", "MB"]),
    "bad resources url": (lambda b: set_brand_value(b, "resources_url", '"www.example.org"'), ["resources_url", "https://"]),
    "no brand.toml": (lambda b: (b / "brand.toml").unlink(), ["brand.toml", "not found"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_brand(case: str, brand_dir: Path, tmp_path: Path) -> None:
    breaker, fragments = CASES[case]
    breaker(brand_dir)
    target = tmp_path / "leaflet.pdf"
    result = CliRunner().invoke(app, ["leaflet", "--brand", str(brand_dir), "-o", str(target)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "brand"]


def test_missing_brand_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["leaflet", "--brand", str(tmp_path / "nowhere"), "-o", str(tmp_path / "l.pdf")])
    assert result.exit_code == 1
    assert "brand folder not found" in result.stderr


def test_default_brand_loads_with_every_field() -> None:
    brand = load_brand()
    assert brand.name == "Example Physiotherapy Clinic"
    assert brand.primary_colour.contrast_with_white() >= 4.5
    assert brand.logo.name == "logo.svg" and brand.resources_url.startswith("https://")
    assert brand.phone and brand.address and brand.disclaimer and brand.email and brand.website


def test_short_hex_colours_are_accepted(brand_dir: Path) -> None:
    set_brand_value(brand_dir, "accent_colour", '"#f80"')
    assert load_brand(brand_dir).accent_colour.hex == "#FF8800"


def test_a_brand_read_again_in_one_process_is_what_it_says_now(brand_dir: Path) -> None:
    """brand.toml's text is parsed once per process (toml_files), but read every time: an edit between two reads is seen,
    and a caller changing the data it was given changes nothing kept."""
    from handout import toml_files

    first = load_brand(brand_dir)
    assert load_brand(brand_dir) == first
    set_brand_value(brand_dir, "phone", '"01632 960 999"')
    assert load_brand(brand_dir).phone == "01632 960 999"
    text = (brand_dir / "brand.toml").read_text(encoding="utf-8")
    toml_files.parse_toml(text)["phone"] = "changed"
    assert toml_files.parse_toml(text)["phone"] == "01632 960 999"
