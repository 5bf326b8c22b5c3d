"""The browser-test tools can fail: axe-core and the reflow check find the faults of pages made faulty on purpose, and pass clean ones."""

from __future__ import annotations

from pathlib import Path

from browser import axe_violations, chromium, fits_at_double_zoom, needs_browser


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


@needs_browser
def test_the_reflow_check_finds_a_page_too_wide_at_200_percent_zoom(tmp_path: Path) -> None:
    wide = tmp_path / "wide.html"
    # 500 px fits a 768 px window at 100 %, but is 1000 px at 200 %: a page that scrolls sideways there.
    wide.write_text('<!doctype html><html lang="en"><head><title>Wide</title></head><body><div style="width:500px">x</div></body></html>', encoding="utf-8")
    narrow = tmp_path / "narrow.html"
    narrow.write_text('<!doctype html><html lang="en"><head><title>Narrow</title></head><body><p>Some words that wrap.</p></body></html>', encoding="utf-8")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with chromium(downloads, width=768, height=1000) as driver:
        driver.get(wide.as_uri())  # type: ignore[attr-defined]
        assert not fits_at_double_zoom(driver)
        driver.get(narrow.as_uri())  # type: ignore[attr-defined]
        assert fits_at_double_zoom(driver)
