"""The page code printed on each diary page: an opaque reference built from the plan's own parameters, never the patient's."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace

from handout.plan import Plan, PlanInputError, PlanRequest, build_plan

FORMAT = 2  # the diary page's geometry (diary/layout.py): format 2 set the minutes circles further apart
MAGIC = "HD"  # handout diary: a QR code that does not start so is not a diary page's
_PATTERN = re.compile(
    r"HD(?P<format>[12]):(?P<paper>A4|LT)(?P<size>[SL]):(?P<bottom>\d{2,3}):(?P<date>\d{8}):(?P<start>\d{1,2}):(?P<target>\d{1,2}):"
    r"(?P<walks>\d):(?P<weeks>\d{1,2}):(?P<tag>[A-Z2-7]{4}):(?P<index>\d{1,2}):(?P<page>\d{1,3})"
)


def plan_tag(patient_name: str, issued: dt.date) -> str:
    """Four letters that tell two plans with the same numbers apart in one reading.

    20 bits of a hash: far too few to confirm a name from (a million names share each tag),
    enough that two patients' diaries scanned together are almost never taken for one plan.
    """
    digest = hashlib.sha256(f"{patient_name}\x00{issued.isoformat()}".encode()).digest()
    return base64.b32encode(digest[:5]).decode()[:4]


@dataclass(frozen=True)
class PageCode:
    """What one diary page's QR code says: which plan (its numbers), which paper and print size, which page."""

    paper: str  # "a4" or "letter"
    large_print: bool
    bottom: int  # points from the paper's foot to where the diary's region ends (above the clinic's footer)
    request: PlanRequest
    tag: str
    diary_page: int  # 1-based among the diary pages
    pdf_page: int  # 1-based page of the plan's PDF
    page_format: int = FORMAT  # the geometry it was printed with: an older page is read at its own places

    @property
    def plan_key(self) -> tuple[object, ...]:
        """Equal for every page of one printed plan, different for another plan."""
        return (self.paper, self.large_print, self.bottom, self.request, self.tag)

    def plan(self) -> Plan:
        return build_plan(self.request)

    def text(self) -> str:
        r = self.request
        paper = "A4" if self.paper == "a4" else "LT"
        return (
            f"{MAGIC}{self.page_format}:{paper}{'L' if self.large_print else 'S'}:{self.bottom}:{r.start_date:%Y%m%d}:{r.start_minutes}:{r.target_minutes}:"
            f"{r.walks_per_week}:{r.weeks}:{self.tag}:{self.diary_page}:{self.pdf_page}"
        )

    def on_page(self, diary_page: int, pdf_page: int) -> PageCode:
        return replace(self, diary_page=diary_page, pdf_page=pdf_page)


def any_format(text: str) -> bool:
    """Whether `text` reads as a diary page code of some format, this version's or not ("HD9:…")."""
    return re.match(rf"{MAGIC}\d+:", text.strip()) is not None


def parse_page_code(text: str) -> PageCode | None:
    """The page code a QR code holds, or None when it is not a diary page's (a leaflet's web address, another form)."""
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    try:
        request = PlanRequest(
            start_minutes=int(match["start"]),
            target_minutes=int(match["target"]),
            walks_per_week=int(match["walks"]),
            weeks=int(match["weeks"]),
            start_date=dt.datetime.strptime(match["date"], "%Y%m%d").date(),
        )
    except (ValueError, PlanInputError):
        return None
    return PageCode(
        paper="a4" if match["paper"] == "A4" else "letter",
        large_print=match["size"] == "L",
        bottom=int(match["bottom"]),
        request=request,
        tag=match["tag"],
        diary_page=int(match["index"]),
        pdf_page=int(match["page"]),
        page_format=int(match["format"]),
    )
