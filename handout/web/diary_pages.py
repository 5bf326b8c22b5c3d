"""The "Read a diary" pages: upload the scans, see what was read, download the report and the JSON; nothing kept past 30 minutes."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from handout.diary.continuation import Continuation, continuation
from handout.errors import HandoutError
from handout.web.forms import FORM_EXPIRED, Draft
from handout.web.pages import FrontDesk
from handout.web.store import ExpiringStore, HoldLimits

MAX_SCAN_FILES = 30
MAX_SCAN_BYTES = 60 * 1024 * 1024  # every file together: thirty pages at 300 dpi in colour
DIARY_GONE = "This diary reading is no longer here: readings are kept for 30 minutes. Upload the scans again."
# A reading holds a report PDF and crops of the patient's handwriting: as few per browser as plans are, fewer in all.
READING_LIMITS = HoldLimits(per_session=20, in_all=100, noun="diary readings")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class HeldReading:
    """A diary read from scans, held for its page: the numbers to show, the report and the JSON to download."""

    record: dict[str, object]
    report: bytes
    json: bytes


def _safe_name(name: str, number: int) -> str:
    """The upload's own file name without folders or odd characters (it names the file in messages), else scan-N."""
    base = _UNSAFE.sub("", Path(name.replace("\\", "/")).name).strip(" .")[:80]
    return base or f"scan-{number}"


class DiaryPages:
    """Thin handlers over handout.diary: read the uploaded scans in a temporary folder, hold the result under a random token."""

    def __init__(self, desk: FrontDesk) -> None:
        self.desk = desk
        # The same 30 minutes, on the same clock, as plans; each reading belongs to the session that uploaded it.
        self.readings: ExpiringStore[HeldReading] = ExpiringStore(clock=desk.plans.clock, limits=READING_LIMITS)
        desk.forms.pages["diary"] = self.upload_draft
        desk.continuation = self.continuation

    def form_page(self, request: Request, status: int = 200, error: str | None = None, notice: str | None = None) -> Response:
        return self.desk.page(
            request, "diary.html.j2", status, error=error, notice=notice, max_files=MAX_SCAN_FILES, max_megabytes=MAX_SCAN_BYTES // (1024 * 1024)
        )

    def upload_draft(self, request: Request, draft: Draft, status: int) -> Response:
        return self.form_page(request, status, draft.error, draft.notice)

    def sent_back(self, request: Request, error: str) -> Response:
        """The upload form again, saying why (POST/redirect/GET: Reload never sends the scans again)."""
        return self.desk.forms.send_back(request, "diary", {}, error=error)

    async def upload_form(self, request: Request) -> Response:
        return self.form_page(request)

    async def upload(self, request: Request) -> Response:
        try:
            async with request.form(max_files=MAX_SCAN_FILES, max_fields=5) as form:
                if not self.desk.token_ok(request, form):
                    return self.desk.forms.send_back(request, "diary", {}, notice=FORM_EXPIRED + " Choose the scans again.")
                files = [f for f in form.getlist("scans") if isinstance(f, UploadFile) and f.filename]
                if not files:
                    return self.sent_back(request, "Choose the diary's scans: PDF, PNG, JPEG or TIFF files")
                with tempfile.TemporaryDirectory(prefix="handout-diary-") as folder:
                    paths, total = [], 0
                    for number, upload in enumerate(files, start=1):
                        data = await upload.read(MAX_SCAN_BYTES + 1)
                        total += len(data)
                        if total > MAX_SCAN_BYTES:
                            return self.sent_back(request, f"The scans are larger than {MAX_SCAN_BYTES // (1024 * 1024)} MB together; scan at 200–300 dpi")
                        path = Path(folder) / f"{number:02d}" / _safe_name(upload.filename or "", number)
                        path.parent.mkdir()
                        path.write_bytes(data)
                        paths.append(path)
                    try:
                        # In the desk's rendering thread: the report is drawn with ReportLab, as plans are.
                        held = await self.desk.workers.render(self._read, paths)
                    except HandoutError as exc:
                        return self.sent_back(request, exc.message)
        except (MultiPartException, HTTPException):
            return self.sent_back(request, "The scans could not be read from the form: choose them again")
        token = self.readings.put(held, owner=self.desk.sessions.session_id(request))
        return RedirectResponse(f"/diary/{token}", status_code=303)

    def _read(self, paths: list[Path]) -> HeldReading:
        from handout.diary.reading import read_diary
        from handout.diary.summary import reading_json

        reading = read_diary(paths)
        record = reading_json(reading)
        report = self.desk.clinic.diary_report(reading, self.desk.today())
        return HeldReading(record, report, (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode())

    def continuation(self, request: Request, token: str) -> Continuation | None:
        """Where the next plan starts, from this session's reading under `token` (the CLI's --continue-from rule); None when it is gone."""
        held = self.readings.get(token, owner=self.desk.sessions.session_id(request))
        return continuation(held.record) if held is not None else None

    async def next_plan(self, request: Request) -> Response:
        """The plan form, filled in to start where the diary left off; the plan made from it says so."""
        token = request.path_params["token"]
        found = self.continuation(request, token)
        if found is None:
            return self.desk.gone(request, DIARY_GONE)
        values = {
            "clinician": self.desk.clinicians.get(self.desk.sessions.session_id(request), ""),
            "start_minutes": str(found.start_minutes),
            "target_minutes": str(found.target_minutes),
            "walks_per_week": str(found.walks_per_week),
            "start_date": self.desk.today().isoformat(),
            "language": "en",
            "continues": token,  # the reading's random token, never the patient's name
        }
        return self.desk.page(request, "plan.html.j2", values=values, changes="")

    def _held(self, request: Request) -> HeldReading | None:
        return self.readings.get(request.path_params["token"], owner=self.desk.sessions.session_id(request))

    async def show(self, request: Request) -> Response:
        held = self._held(request)
        if held is None:
            return self.desk.gone(request, DIARY_GONE)
        record = held.record
        days = record["days"]
        unclear = [d for d in days if d["unclear"]]  # type: ignore[union-attr, index]
        return self.desk.page(request, "diary-read.html.j2", record=record, unclear=unclear, token=request.path_params["token"])

    async def report(self, request: Request) -> Response:
        held = self._held(request)
        if held is None:
            return self.desk.gone(request, DIARY_GONE)
        return Response(held.report, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="diary-report.pdf"', "Cache-Control": "no-store"})

    async def record(self, request: Request) -> Response:
        held = self._held(request)
        if held is None:
            return self.desk.gone(request, DIARY_GONE)
        return Response(held.json, media_type="application/json", headers={"Content-Disposition": 'attachment; filename="diary.json"', "Cache-Control": "no-store"})
