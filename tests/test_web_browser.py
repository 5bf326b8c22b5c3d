"""The front desk in a real browser: `handout serve` started as a user starts it, driven in headless Chromium, checked with axe-core."""

from __future__ import annotations

import os
from pathlib import Path

from browser import axe_violations, chromium, needs_browser, served, wait_for_file

from helpers import all_text

SCREENSHOTS = Path(__file__).resolve().parents[1] / "assets" / "readme"


def wait_for_page(driver: object, part: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: part in d.current_url and d.execute_script("return document.readyState") == "complete")


def no_violations(driver: object, page: str) -> None:
    violations = axe_violations(driver)
    assert violations == [], f"{page}: " + "; ".join(f"{v['id']}: {v.get('help')}" for v in violations)


@needs_browser
def test_a_receptionist_makes_prints_and_emails_a_plan_with_the_keyboard_and_every_page_passes_axe(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    env = {key: "" for key in os.environ if key.startswith("HANDOUT_SMTP_")}
    with served(tmp_path / "data", env) as url, chromium(downloads) as driver:
        driver.get(url + "/")  # type: ignore[attr-defined]
        no_violations(driver, "home")
        driver.get(url + "/leaflet")  # type: ignore[attr-defined]
        no_violations(driver, "leaflet")
        driver.get(url + "/clinic")  # type: ignore[attr-defined]
        no_violations(driver, "clinic")
        assert driver.execute_script("return document.querySelector('img.logo').naturalWidth > 0")  # type: ignore[attr-defined]
        driver.save_screenshot(str(tmp_path / "web-clinic.png"))  # type: ignore[attr-defined]
        driver.get(url + "/plan")  # type: ignore[attr-defined]
        no_violations(driver, "plan form")
        # A mistake first: the error is announced, sits by its field, and what was typed stays.
        driver.find_element(By.ID, "weeks").send_keys("30")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "weeks").send_keys(Keys.ENTER)  # type: ignore[attr-defined]
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "patient-error"))
        assert driver.find_element(By.ID, "patient-error").text == "Patient name must not be empty"  # type: ignore[attr-defined]
        assert driver.find_element(By.ID, "weeks").get_attribute("value") == "30"  # type: ignore[attr-defined]
        no_violations(driver, "plan form with errors")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = driver.find_element(By.ID, "patient")  # type: ignore[attr-defined]
        name.send_keys("Ana García")
        weeks = driver.find_element(By.ID, "weeks")  # type: ignore[attr-defined]
        weeks.clear()
        weeks.send_keys("6")
        driver.find_element(By.ID, "clinician").send_keys("Sam Lee")  # type: ignore[attr-defined]
        driver.save_screenshot(str(tmp_path / "web-plan-form.png"))  # type: ignore[attr-defined]
        weeks.send_keys(Keys.ENTER)
        wait_for_page(driver, "/plans/")
        assert "/plans/" in driver.current_url and "Ana" not in driver.current_url  # type: ignore[attr-defined]
        assert driver.find_element(By.CSS_SELECTOR, "p.summary").text.startswith("Walk 10 minutes, 5 days a week this week.")  # type: ignore[attr-defined]
        no_violations(driver, "plan preview")
        driver.save_screenshot(str(tmp_path / "web-plan-preview.png"))  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "button[value=download]").click()  # type: ignore[attr-defined]
        pdf = wait_for_file(downloads, ".pdf")
        assert pdf.name == "walking-plan.pdf"
        assert "Ana García" in all_text(pdf.read_bytes())
        # Email with a generated password: to the outbox, as no email server is set up.
        driver.find_element(By.ID, "email").send_keys("ana@example.org")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "locked").click()  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form[action$='/email'] button").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.password"))
        password = driver.find_element(By.CSS_SELECTOR, "p.password").text  # type: ignore[attr-defined]
        assert len(password) == 14
        no_violations(driver, "emailed")
        assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) == 1
        # Usable at 200% zoom on a tablet-width window: nothing scrolls sideways.
        driver.set_window_size(768, 1000)  # type: ignore[attr-defined]
        driver.get(url + "/plan")  # type: ignore[attr-defined]
        driver.execute_script("document.body.style.zoom = '200%'")  # type: ignore[attr-defined]
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")  # type: ignore[attr-defined]
    if os.environ.get("HANDOUT_README_SCREENSHOTS"):
        for shot in ("web-plan-form.png", "web-plan-preview.png", "web-clinic.png"):
            (SCREENSHOTS / shot).write_bytes((tmp_path / shot).read_bytes())


@needs_browser
def test_nothing_typed_reaches_the_server_log(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with served(tmp_path / "data") as url, chromium(downloads) as driver:
        driver.get(url + "/plan")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "patient").send_keys("Zoë Secretname")  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form button").click()  # type: ignore[attr-defined]
        wait_for_page(driver, "/plans/")  # type: ignore[attr-defined]
        history = driver.execute_script("return window.location.href + ' ' + document.referrer")  # type: ignore[attr-defined]
        assert "Secretname" not in history
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "serving Example Physiotherapy Clinic's front desk at http://127.0.0.1:" in log and "handout stopped serving." in log
    assert "Secretname" not in log and "Traceback" not in log
