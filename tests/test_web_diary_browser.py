"""The "Read a diary" page in real headless Chromium: upload a scan, see the weeks, download the report; axe-core finds nothing."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from browser import axe_violations, chromium, needs_browser, served, wait_for_file
from diary_scans import degrade, fill_page, render_page

from handout.diary.layout import diary_map_page
from handout.service import Clinic, PlanForm, check_plan_form

SCREENSHOTS = Path(__file__).resolve().parents[1] / "assets" / "readme"


def loaded(driver: object) -> bool:
    """The new page has loaded, not only its address changed (the address changes first)."""
    return bool(driver.execute_script("return document.readyState") == "complete")  # type: ignore[attr-defined]


@needs_browser
def test_read_a_diary_in_the_browser(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    order = check_plan_form(PlanForm(patient="Jane Doe", weeks="3", start_date="2026-01-05"), dt.date(2026, 1, 2))
    pdf, pages = Clinic(None).plan_with_diary(order, dt.date(2026, 1, 2))
    (tmp_path / "plan.pdf").write_bytes(pdf)
    image = render_page(str(tmp_path / "plan.pdf"), pages[0].code.pdf_page, 150)
    fill_page(image, diary_map_page(pages[0]), 150, random.Random(5))
    scan = tmp_path / "scan.png"
    degrade(image, random.Random(2), rotate=-1.5, blur=0.5).save(scan)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with served(tmp_path / "data") as url, chromium(downloads) as driver:
        driver.get(url + "/diary")  # type: ignore[attr-defined]
        assert axe_violations(driver) == []
        driver.find_element(By.ID, "scans").send_keys(str(scan))  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form[action='/diary'] button[type=submit]").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 30).until(lambda d: "/diary/" in d.current_url and loaded(d))
        assert "What the diary says" in driver.page_source and "planned days" in driver.page_source  # type: ignore[attr-defined]
        assert "Jane" not in driver.current_url  # type: ignore[attr-defined]
        assert axe_violations(driver) == []
        driver.save_screenshot(str(tmp_path / "diary-read.png"))  # type: ignore[attr-defined]
        driver.find_element(By.PARTIAL_LINK_TEXT, "Download the report").click()  # type: ignore[attr-defined]
        report = wait_for_file(downloads, ".pdf")
        assert report.read_bytes().startswith(b"%PDF")
        driver.find_element(By.PARTIAL_LINK_TEXT, "Make the next plan from this diary").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("/next-plan") and loaded(d))
        assert "The next walking plan" in driver.page_source and axe_violations(driver) == []  # type: ignore[attr-defined]
        driver.save_screenshot(str(tmp_path / "next-plan.png"))  # type: ignore[attr-defined]
        driver.find_element(By.ID, "patient").send_keys("Jane Doe")  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form[action='/plan'] button[type=submit]").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 30).until(lambda d: "/plans/" in d.current_url and loaded(d))
        assert "Jane" not in driver.current_url  # type: ignore[attr-defined]
    log = (tmp_path / "serve.log").read_text()
    assert "Jane" not in log and "scan.png" not in log
