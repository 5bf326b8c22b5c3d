"""The browser-test tools can fail: axe-core finds the faults of a page made faulty on purpose, and passes a clean one."""

from __future__ import annotations

from pathlib import Path

from browser import axe_violations, chromium, needs_browser


@needs_browser
def test_axe_finds_an_unlabelled_field_and_low_contrast_and_passes_a_clean_page(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!doctype html><html><head><title>x</title></head><body><main><h1>Form</h1>'
        '<input type="text" name="patient"><p style="color:#bbb;background:#fff">faint text</p></main></body></html>',
        encoding="utf-8",
    )
    clean = tmp_path / "clean.html"
    clean.write_text(
        '<!doctype html><html lang="en"><head><title>Clean</title></head><body><main><h1>Form</h1>'
        '<label for="p">Patient name</label><input id="p" type="text" name="patient"><p>plain text</p></main></body></html>',
        encoding="utf-8",
    )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads) as driver:
        driver.get(broken.as_uri())  # type: ignore[attr-defined]
        found = {v["id"] for v in axe_violations(driver)}
        assert {"label", "color-contrast", "html-has-lang"} <= found
        driver.get(clean.as_uri())  # type: ignore[attr-defined]
        assert axe_violations(driver) == []
