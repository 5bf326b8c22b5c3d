"""Measures the front desk in-process: the median time from submitting the plan form to the PDF, and the server's memory after 100 plans.

`python benchmarks/web.py` drives the Starlette app with its test client (no network, no browser).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from handout.service import Clinic  # noqa: E402
from handout.web.app import create_app  # noqa: E402


def rss_mb() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def main() -> None:
    with tempfile.TemporaryDirectory() as data, TestClient(create_app(Clinic(None), Path(data)), base_url="http://127.0.0.1:8400", follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/plan").text).group(1)  # type: ignore[union-attr]
        times: list[float] = []
        start_memory = rss_mb()
        for number in range(100):
            start = time.perf_counter()
            location = client.post("/plan", data={"csrf": token, "patient": f"Jane Doe {number}", "weeks": "12"}).headers["location"]
            pdf = client.post(f"{location}/pdf", data={"csrf": token, "action": "download"}).content
            times.append(time.perf_counter() - start)
            assert pdf.startswith(b"%PDF")
        print(f"plan form submitted → PDF downloaded, 12-week plan, median of 100: {statistics.median(times[5:]) * 1000:.1f} ms")
        print(f"server memory (RSS): {start_memory:.0f} MB after the first page, {rss_mb():.0f} MB after 100 plans held for 30 minutes")


if __name__ == "__main__":
    main()
