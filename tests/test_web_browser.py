"""The front desk in a real browser: `handout serve` started as a user starts it, driven in headless Chromium, checked with axe-core."""

from __future__ import annotations

import os
from pathlib import Path

from browser import axe_violations, chromium, fits_at_double_zoom, needs_browser, served, wait_for_file

from helpers import all_text

SCREENSHOTS = Path(__file__).resolve().parents[1] / "assets" / "readme"


def wait_for_page(driver: object, part: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: part in d.current_url and d.execute_script("return document.readyState") == "complete")


def heading(driver: object) -> str:
    """The page's h1, read in one step (a page that reloads itself must not leave a stale element between finding and reading)."""
    return str(driver.execute_script("const h = document.querySelector('h1'); return h ? h.textContent.trim() : '';"))  # type: ignore[attr-defined]


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
        assert len(password) == 17 and password == password.lower()
        assert heading(driver) == "Saved, not sent yet"
        no_violations(driver, "saved, not sent yet")
        assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) == 1
        # Usable at 200% zoom on a tablet-width window: nothing scrolls sideways.
        driver.set_window_size(768, 1000)  # type: ignore[attr-defined]
        for page in ("/", "/leaflet", "/plan", "/lists", "/clinic"):
            driver.get(url + page)  # type: ignore[attr-defined]
            assert fits_at_double_zoom(driver), f"{page} scrolls sideways at 200 % zoom on a tablet"
    if os.environ.get("HANDOUT_README_SCREENSHOTS"):
        for shot in ("web-plan-form.png", "web-clinic.png"):
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


LIST = (
    "name,patient_id,email,consent_email,weeks\n"
    "Jane Doe,P1,jane@example.org,yes,4\n"
    "Ann Lee,P2,ann@example.org,yes,6\n"
    "Bob Stone,P3,not-an-address,yes,4\n"
    "Carla Ruiz,P4,,,8\n"
    "Max Power,P5,,,30\n"
    "Li Wei,P6,,,12\n"
)


@needs_browser
def test_a_plan_and_a_patient_list_are_emailed_through_the_clinics_mail_server(tmp_path: Path) -> None:
    """A clinician emails one plan; a receptionist uploads a list with bad rows, reads the row report, follows the progress and downloads the ZIP."""
    import zipfile

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from smtp_server import SmtpServer, make_certificates

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (tmp_path / "tls").mkdir()
    mail = SmtpServer(make_certificates(tmp_path / "tls")).start()
    try:
        with served(tmp_path / "data", mail.env()) as url, chromium(downloads) as driver:
            # One plan, emailed with the patient's consent.
            driver.get(url + "/plan")  # type: ignore[attr-defined]
            driver.find_element(By.ID, "patient").send_keys("Ana García")  # type: ignore[attr-defined]
            driver.find_element(By.CSS_SELECTOR, "form button").click()  # type: ignore[attr-defined]
            wait_for_page(driver, "/plans/")
            driver.find_element(By.ID, "email").send_keys("ana@example.org")  # type: ignore[attr-defined]
            driver.find_element(By.ID, "consent").click()  # type: ignore[attr-defined]
            driver.find_element(By.CSS_SELECTOR, "form[action$='/email'] button").click()  # type: ignore[attr-defined]
            WebDriverWait(driver, 20).until(lambda d: heading(d) == "Plan emailed")
            main = driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
            assert "Walking plan for Ana García" in main and "Emailed to a…@example.org at " in main
            no_violations(driver, "plan emailed")
            driver.save_screenshot(str(tmp_path / "web-plan-emailed.png"))  # type: ignore[attr-defined]
            (message,) = mail.recorder.messages
            assert mail.recorder.envelopes == [["ana@example.org"]]
            assert "Ana García" in all_text(next(message.iter_attachments()).get_content())  # type: ignore[attr-defined]

            # A patient list: the row report comes before anything is made.
            csv = tmp_path / "patients.csv"
            csv.write_text(LIST, encoding="utf-8")
            driver.get(url + "/lists")  # type: ignore[attr-defined]
            no_violations(driver, "list upload")
            driver.find_element(By.ID, "patients_csv").send_keys(str(csv))  # type: ignore[attr-defined]
            driver.find_element(By.CSS_SELECTOR, "form[action='/lists'] button").click()  # type: ignore[attr-defined]
            wait_for_page(driver, "/lists/")
            assert "P1" not in driver.current_url and "Jane" not in driver.current_url  # type: ignore[attr-defined]
            rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")]  # type: ignore[attr-defined]
            assert rows == ["4 P3 email is not a valid email address", "6 P5 weeks must be a whole number from 1 to 26, not 30"]
            assert "Nothing has been made or sent yet." in driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
            assert mail.recorder.mail_count == 1
            no_violations(driver, "list checked")
            driver.save_screenshot(str(tmp_path / "web-list-checked.png"))  # type: ignore[attr-defined]

            # Made and sent: the mail server holds the first email, so the progress page is seen mid-run.
            mail.recorder.hold_at_mail = 2
            driver.find_element(By.ID, "delivery-send").click()  # type: ignore[attr-defined]
            driver.find_element(By.CSS_SELECTOR, "form[action$='/run'] button").click()  # type: ignore[attr-defined]
            assert mail.recorder.held.wait(60), "the list's first email never reached the mail server"
            driver.get(driver.current_url)  # type: ignore[attr-defined]
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "progress-bar"))
            assert heading(driver) == "Making the plans"
            no_violations(driver, "list running")
            mail.recorder.release.set()  # the server refuses that attempt and hangs up; handout tries again
            # progress.js notices the run has ended and shows the results without a click.
            WebDriverWait(driver, 60).until(lambda d: heading(d) == "Patient list done" and d.execute_script("return document.readyState") == "complete")
            no_violations(driver, "list done")
            outcome = {row.find_element(By.TAG_NAME, "th").text: row.text for row in driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")}  # type: ignore[attr-defined]
            assert outcome["Emailed"] == "Emailed 2 P1 (row 2), P2 (row 3)"
            assert outcome["To print: no email address"] == "To print: no email address 2 P4 (row 5), P6 (row 7)"
            assert outcome["Skipped: a problem in the row (not made)"] == "Skipped: a problem in the row (not made) 2 P3 (row 4), P5 (row 6)"
            assert outcome["Failed"] == "Failed 0"
            driver.save_screenshot(str(tmp_path / "web-list-done.png"))  # type: ignore[attr-defined]
            driver.set_window_size(768, 1000)  # type: ignore[attr-defined]
            assert fits_at_double_zoom(driver), "the list's results scroll sideways at 200 % zoom on a tablet"
            driver.find_element(By.CSS_SELECTOR, "form[action$='/zip'] button").click()  # type: ignore[attr-defined]
            archive = zipfile.ZipFile(wait_for_file(downloads, ".zip"))
            assert archive.filename is not None and Path(archive.filename).name == "walking-plans.zip"
            assert sorted(archive.namelist()) == ["plans/P1.pdf", "plans/P2.pdf", "plans/P4.pdf", "plans/P6.pdf", "report.txt", "to-print-list.pdf", "to-print.pdf", "to-print.txt"]
            to_print = all_text(archive.read("to-print.pdf"))
            assert "Carla Ruiz" in to_print and "Li Wei" in to_print and "Jane Doe" not in to_print
            sheet = all_text(archive.read("to-print-list.pdf"))
            assert "Carla Ruiz" in sheet and "Li Wei" in sheet and "Jane Doe" not in sheet
        assert sorted(envelope[0] for envelope in mail.recorder.envelopes) == ["ana@example.org", "ann@example.org", "jane@example.org"]
    finally:
        mail.stop()
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert not any(secret in log for secret in ("Ana", "Jane", "Carla", "example.org", "Traceback"))
    assert "POST /lists 303" in log and "POST /lists/{token}/run 303" in log
    if os.environ.get("HANDOUT_README_SCREENSHOTS"):
        for shot in ("web-list-checked.png", "web-list-done.png", "web-plan-emailed.png"):
            (SCREENSHOTS / shot).write_bytes((tmp_path / shot).read_bytes())


@needs_browser
def test_served_beyond_this_computer_every_page_waits_for_the_password(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with served(tmp_path / "data", {"HANDOUT_WEB_PASSWORD": "Front-desk 2026"}, "--host", "0.0.0.0") as url, chromium(downloads) as driver:
        driver.get(url + "/plan")  # type: ignore[attr-defined]
        wait_for_page(driver, "/sign-in")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Sign in"  # type: ignore[attr-defined]
        assert not driver.find_elements(By.CSS_SELECTOR, "nav a[href='/plan']")  # type: ignore[attr-defined]
        no_violations(driver, "sign-in")
        password = driver.find_element(By.ID, "password")  # type: ignore[attr-defined]
        password.send_keys("front-desk 2026")
        password.submit()
        wait_for_page(driver, "/sign-in")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "password-error"))
        assert driver.find_element(By.ID, "password-error").text == "Password is not right: type it again"  # type: ignore[attr-defined]
        assert driver.find_element(By.ID, "password").get_attribute("value") == ""  # type: ignore[attr-defined]
        no_violations(driver, "sign-in with an error")
        password = driver.find_element(By.ID, "password")  # type: ignore[attr-defined]
        password.send_keys("Front-desk 2026")
        password.submit()
        # Back to the page first asked for, kept through the wrong password.
        wait_for_page(driver, url + "/plan")
        assert driver.find_element(By.TAG_NAME, "h1").text == "New walking plan"  # type: ignore[attr-defined]
        no_violations(driver, "plan form, signed in")
        driver.find_element(By.CSS_SELECTOR, "form.sign-out button").click()  # type: ignore[attr-defined]
        wait_for_page(driver, "/sign-in")
        driver.get(url + "/clinic")  # type: ignore[attr-defined]
        wait_for_page(driver, "/sign-in")
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "put a proxy with TLS" in log and "Front-desk" not in log and "Traceback" not in log


@needs_browser
def test_reload_back_and_forward_never_send_again_or_ask_to_resubmit_and_change_this_plan_keeps_every_value(tmp_path: Path) -> None:
    """A receptionist fixes a form mistake, emails the plan (to the outbox), reloads, goes Back and Forward, then corrects a typo."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    env = {key: "" for key in os.environ if key.startswith("HANDOUT_SMTP_")}
    outbox = tmp_path / "data" / "outbox"

    def resubmit_prompt(d: object) -> bool:
        # Chrome's page for a POST it would have to send again: "Confirm Form Resubmission", ERR_CACHE_MISS.
        return "ERR_CACHE_MISS" in d.page_source or "Confirm Form Resubmission" in d.page_source  # type: ignore[attr-defined]

    with served(tmp_path / "data", env) as url, chromium(downloads) as driver:
        driver.get(url + "/plan")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "patient").send_keys("Zoe Adans")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "clinician").send_keys("Sam Lee")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "weeks").send_keys("40")  # type: ignore[attr-defined]
        Select(driver.find_element(By.ID, "language")).select_by_value("es")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "with_article").click()  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form[action='/plan'] button").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "weeks-error"))
        assert "/forms/" in driver.current_url  # type: ignore[attr-defined]
        weeks = driver.find_element(By.ID, "weeks")  # type: ignore[attr-defined]
        weeks.clear()
        weeks.send_keys("6")
        driver.find_element(By.CSS_SELECTOR, "form[action='/plan'] button").click()  # type: ignore[attr-defined]
        wait_for_page(driver, "/plans/")
        preview = driver.current_url  # type: ignore[attr-defined]
        assert heading(driver) == "The walking plan is ready"
        assert "Walking plan for Zoe Adans" in driver.find_element(By.CSS_SELECTOR, ".whose").text  # type: ignore[attr-defined]
        # Back to the form with its mistake, and forward again: pages, never a prompt to send a form again.
        driver.back()  # type: ignore[attr-defined]
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
        assert not resubmit_prompt(driver) and heading(driver) == "New walking plan"
        driver.forward()  # type: ignore[attr-defined]
        wait_for_page(driver, "/plans/")
        assert not resubmit_prompt(driver) and heading(driver) == "The walking plan is ready"

        # Emailed with a made-up password: the outbox, as no mail server is set.
        driver.find_element(By.ID, "email").send_keys("zoe@example.org")  # type: ignore[attr-defined]
        driver.find_element(By.ID, "locked").click()  # type: ignore[attr-defined]
        driver.find_element(By.CSS_SELECTOR, "form[action$='/email'] button").click()  # type: ignore[attr-defined]
        wait_for_page(driver, "/sent")
        assert heading(driver) == "Saved, not sent yet"
        password = driver.find_element(By.CSS_SELECTOR, "p.password").text  # type: ignore[attr-defined]
        assert len(list(outbox.glob("*.eml"))) == 1
        no_violations(driver, "saved, not sent yet")
        driver.set_window_size(1280, 1500)  # type: ignore[attr-defined]  # the whole page: where it is, how to send it, the password
        driver.save_screenshot(str(tmp_path / "web-plan-saved.png"))  # type: ignore[attr-defined]
        driver.set_window_size(1280, 900)  # type: ignore[attr-defined]
        for _ in range(2):
            driver.refresh()  # type: ignore[attr-defined]
            WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
            assert not resubmit_prompt(driver) and heading(driver) == "Saved, not sent yet"
            assert driver.find_element(By.CSS_SELECTOR, "p.password").text == password  # type: ignore[attr-defined]
        driver.back()  # type: ignore[attr-defined]
        wait_for_page(driver, preview)
        assert not resubmit_prompt(driver) and heading(driver) == "The walking plan is ready"
        assert "Already saved to the outbox for z…@example.org" in driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
        driver.forward()  # type: ignore[attr-defined]
        wait_for_page(driver, "/sent")
        assert not resubmit_prompt(driver) and heading(driver) == "Saved, not sent yet"
        assert len(list(outbox.glob("*.eml"))) == 1  # reloads, Back and Forward sent nothing

        # "Send again" is its own button, which says when it was sent before.
        main = driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
        assert "It was already saved to the outbox for z…@example.org at " in main
        driver.find_element(By.XPATH, "//button[text()='Send again']").click()  # type: ignore[attr-defined]
        # The page is replaced while it is read: an element of the old page goes stale, so look again until the new one says it.
        WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: "Before this" in d.find_element(By.TAG_NAME, "main").text)
        assert len(list(outbox.glob("*.eml"))) == 2
        driver.refresh()  # type: ignore[attr-defined]
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
        assert len(list(outbox.glob("*.eml"))) == 2

        # The typo seen: "Change this plan" opens the form with everything as typed.
        driver.get(preview)  # type: ignore[attr-defined]
        driver.find_element(By.LINK_TEXT, "Change this plan").click()  # type: ignore[attr-defined]
        wait_for_page(driver, "/change")
        assert heading(driver) == "Change the walking plan"
        value = lambda field: driver.find_element(By.ID, field).get_attribute("value")  # type: ignore[attr-defined]  # noqa: E731
        assert (value("patient"), value("clinician"), value("weeks"), value("language")) == ("Zoe Adans", "Sam Lee", "6", "es")
        assert driver.find_element(By.ID, "with_article").is_selected() and not driver.find_element(By.ID, "large_print").is_selected()  # type: ignore[attr-defined]
        no_violations(driver, "change the plan")
        patient = driver.find_element(By.ID, "patient")  # type: ignore[attr-defined]
        patient.clear()
        patient.send_keys("Zoe Adams")
        driver.find_element(By.CSS_SELECTOR, "form[action='/plan'] button").click()  # type: ignore[attr-defined]
        # The address changes before the new page has loaded: wait for the page, not only its address.
        WebDriverWait(driver, 10).until(
            lambda d: "/plans/" in d.current_url and d.current_url != preview and d.execute_script("return document.readyState") == "complete"
        )
        assert "Walking plan for Zoe Adams" in driver.find_element(By.CSS_SELECTOR, ".whose").text  # type: ignore[attr-defined]
        no_violations(driver, "changed plan preview")
        driver.set_window_size(1280, 1700)  # type: ignore[attr-defined]  # whose plan, as printed, "Change this plan" and the email form
        driver.save_screenshot(str(tmp_path / "web-plan-preview.png"))  # type: ignore[attr-defined]
        driver.get(preview)  # type: ignore[attr-defined]
        assert "This plan was changed" in driver.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]
        assert not driver.find_elements(By.CSS_SELECTOR, "form[action$='/email']")  # type: ignore[attr-defined]
    log = (tmp_path / "serve.log").read_text(encoding="utf-8")
    assert "Zoe" not in log and "example.org" not in log and "Traceback" not in log
    if os.environ.get("HANDOUT_README_SCREENSHOTS"):
        for shot in ("web-plan-saved.png", "web-plan-preview.png"):
            (SCREENSHOTS / shot).write_bytes((tmp_path / shot).read_bytes())
