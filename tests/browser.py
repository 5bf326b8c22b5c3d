"""A real browser for the tests: Debian's headless Chromium driven by Selenium, `handout serve` in a subprocess, and axe-core."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
needs_browser = pytest.mark.skipif(
    not HAVE_BROWSER,
    reason="browser tests skipped: Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(data_dir: Path, env: dict[str, str] | None = None, *extra: str) -> Iterator[str]:
    """`handout serve` on a free loopback port, as a user starts it; yields its address and stops it with Ctrl-C.

    All it prints (its log included) goes to `serve.log` beside `data_dir`, for tests to read.
    """
    port = free_port()
    log = (data_dir.parent / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "handout", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"handout serve did not start: {(data_dir.parent / 'serve.log').read_text()}") from None
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(2)  # Ctrl-C, as a user stops it
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def chromium(download_dir: Path, width: int = 1280, height: int = 900) -> Iterator[object]:
    """Headless Chromium with downloads going to `download_dir`, the flags this machine's closed network needs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={download_dir.parent / ('chromium-profile-' + download_dir.name)}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(download_dir), "download.prompt_for_download": False, "plugins.always_open_pdf_externally": True},
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def axe_violations(driver: object) -> list[dict[str, object]]:
    """axe-core's violations on the current page (WCAG 2.0–2.2 A and AA rules), from the copy the selenium-axe-python package ships."""
    script = resources.files("selenium_axe_python").joinpath("axe-core/axe.min.js").read_text(encoding="utf-8")
    driver.execute_script(script)  # type: ignore[attr-defined]
    result = driver.execute_async_script(  # type: ignore[attr-defined]
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', help: String(e)}]));"
    )
    return list(result)


def fits_at_double_zoom(driver: object) -> bool:
    """At 200 % zoom nothing makes the page scroll sideways (WCAG 1.4.10 reflow)."""
    driver.execute_script("document.body.style.zoom = '200%'")  # type: ignore[attr-defined]
    fits = bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"))  # type: ignore[attr-defined]
    driver.execute_script("document.body.style.zoom = ''")  # type: ignore[attr-defined]
    return fits


def wait_for_file(folder: Path, suffix: str, timeout: float = 20) -> Path:
    """The first finished download in `folder` ending in `suffix`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} download in {folder}: {[p.name for p in folder.iterdir()]}")
