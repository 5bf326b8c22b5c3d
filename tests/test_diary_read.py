"""The machine-readable diary read back from synthetic scans: every day as drawn, or unclear, never a wrong value."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pytest
from diary_scans import Truth, degrade, fill_page, render_page
from PIL import Image
from typer.testing import CliRunner

from handout.cli import app
from handout.diary import align
from handout.diary.layout import diary_map_page
from handout.diary.reading import DiaryReading, read_diary
from handout.service import Clinic, PlanForm, check_plan_form

from helpers import one_line_error

runner = CliRunner()
TODAY = dt.date(2026, 1, 2)


def make_plan(tmp: Path, name: str, patient: str = "Test Patient", paper: str = "a4", weeks: int = 6, **form: object) -> tuple[Path, dict]:
    order = check_plan_form(PlanForm(patient=patient, weeks=str(weeks), start_date="2026-01-05", **form), TODAY)  # type: ignore[arg-type]
    pdf, pages = Clinic(None, paper=paper).plan_with_diary(order, TODAY)
    path = tmp / f"{name}.pdf"
    path.write_bytes(pdf)
    return path, {"pages": [diary_map_page(p) for p in pages]}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    return make_plan(tmp_path_factory.mktemp("plan"), "plan")


def filled(plan: tuple[Path, dict], dpi: int, seed: int, hard: bool = True) -> tuple[list[Image.Image], dict[str, Truth]]:
    path, diary_map = plan
    rng = random.Random(seed)
    images, truth = [], {}
    for page in diary_map["pages"]:
        image = render_page(str(path), page["page"], dpi)
        truth.update(fill_page(image, page, dpi, rng, hard))
        images.append(image)
    return images, truth


def mismatches(reading: DiaryReading, truth: dict[str, Truth]) -> tuple[list[str], list[str]]:
    """(confidently wrong values, values read as unclear that were clear): every field of every day drawn."""
    wrong, unclear = [], []
    days = {d.date.isoformat(): d for d in reading.days}
    assert set(truth) <= set(days), "days drawn but not read"
    for date, want in truth.items():
        got = days[date]
        for name in ("walked", "pain", "minutes"):
            if name in want.unclear:
                if name not in got.unclear:
                    wrong.append(f"{date} {name}: read {getattr(got, name)!r}, drawn as unclear")
            elif name in got.unclear:
                unclear.append(f"{date} {name}")
            elif getattr(got, name) != getattr(want, name):
                wrong.append(f"{date} {name}: read {getattr(got, name)!r}, drawn {getattr(want, name)!r}")
    return wrong, unclear


def save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


DAMAGE = {
    "clean-200": dict(dpi=200),
    "scanner-200": dict(dpi=200, rotate=-4.5, scale=0.95, shift=(30, -20), blur=1.0, noise=5, jpeg=60),
    "phone-200": dict(dpi=200, rotate=2.0, perspective=0.03, blur=1.2, noise=6, jpeg=50),
    "fax-150": dict(dpi=150, rotate=3.0, scale=0.97, threshold=True),
    "upside-down-150": dict(dpi=150, rotate=1.5, upside_down=True, blur=0.6, noise=3),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_day_is_read_as_drawn_or_unclear(plan: tuple[Path, dict], tmp_path: Path, damage: str) -> None:
    settings = dict(DAMAGE[damage])
    dpi = settings.pop("dpi")
    images, truth = filled(plan, dpi, seed=sorted(DAMAGE).index(damage))
    rng = random.Random(7)
    scans = [degrade(image, rng, **settings) for image in images]  # type: ignore[arg-type]
    files = [save(scans[0], tmp_path / "a.png"), save(scans[1], tmp_path / "b.jpg", quality=85)]
    reading = read_diary(files)
    wrong, unclear = mismatches(reading, truth)
    assert wrong == []
    assert len(unclear) <= 2, unclear  # of 126 fields: clear marks come back clear


def test_pdf_of_shuffled_pages_with_other_pages_and_one_upside_down(plan: tuple[Path, dict], tmp_path: Path) -> None:
    images, truth = filled(plan, 150, seed=11)
    rng = random.Random(3)
    leaflet_page = render_page(str(plan[0]), 1, 150)  # the plan's own first page: not a diary page
    blank = Image.new("L", images[0].size, 255)
    pages = [degrade(images[1], rng, rotate=-2), leaflet_page.convert("L"), degrade(images[0], rng, upside_down=True, rotate=1), blank]
    scan = tmp_path / "scan.pdf"
    pages[0].save(scan, save_all=True, append_images=pages[1:], resolution=150)
    result = runner.invoke(app, ["read-diary", str(scan), "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out.json").read_text())
    assert record["pages"] == [p["page"] for p in plan[1]["pages"]]
    assert [s["page"] for s in record["skipped"]] == [2, 4] and {s["file"] for s in record["skipped"]} == {"scan.pdf"}
    assert set(record) >= {"days", "pages", "skipped"}
    assert all(set(day) >= {"date", "walked", "pain", "minutes", "unclear"} for day in record["days"])
    reading = read_diary([scan])
    wrong, _ = mismatches(reading, truth)
    assert wrong == []


def test_a_reader_that_ignores_rotation_fails_these_tests(plan: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above can fail: take the page's turn out of the map and the same scan reads wrong."""
    images, truth = filled(plan, 200, seed=5)
    scan = save(degrade(images[0], random.Random(1), rotate=4.0), tmp_path / "turned.png")
    real = align._placed

    def unturned(*args: object) -> align.PlacedPage:
        placed = real(*args)  # type: ignore[arg-type]
        h = placed.homography
        scale = np.hypot(h[0, 0], h[1, 0])
        centre = align.apply(h, np.array([[placed.layout.width / 2, placed.layout.height / 2]]))[0]
        ignoring = np.array([[scale, 0, 0], [0, -scale, 0], [0, 0, 1]], dtype=float)
        offset = centre - align.apply(ignoring, np.array([[placed.layout.width / 2, placed.layout.height / 2]]))[0]
        ignoring[0, 2], ignoring[1, 2] = offset
        return dataclasses.replace(placed, homography=ignoring)

    monkeypatch.setattr(align, "_placed", unturned)
    wrong, unclear = mismatches(read_diary([scan]), {d: t for d, t in truth.items() if d < "2026-01-26"})
    assert len(wrong) + len(unclear) > 10


def test_marks_a_patient_makes(plan: tuple[Path, dict], tmp_path: Path) -> None:
    """Each kind of mark, one a day: a pencil tick is a walk, a correction is honoured, two marks or a mark between circles are unclear."""
    from diary_scans import PEN, Pen

    path, diary_map = plan
    page = diary_map["pages"][0]
    image = render_page(str(path), page["page"], 200)
    pen = Pen(image, page["height"], 200, random.Random(0))
    fields = {(f["date"], f["field"], f["value"]): f for f in page["fields"]}

    def centre(date: str, field: str, value: int | None) -> tuple[float, float]:
        x0, y0, x1, y1 = fields[(date, field, value)]["rect"]
        return (x0 + x1) / 2, (y0 + y1) / 2

    size = 3.9 * 72 / 25.4
    pencil = (PEN["pencil"], 2)  # a light pencil line 2 px wide at 200 dpi
    pen.mark("tick", centre("2026-01-05", "walked", None), 15, *pencil)
    pen.mark("circle", centre("2026-01-05", "pain", 3), size, *pencil)
    pen.mark("cross", centre("2026-01-06", "walked", None), 15, PEN["blue"], 3)
    pen.mark("bigx", centre("2026-01-06", "pain", 2), size, PEN["blue"], 3)
    pen.mark("fill", centre("2026-01-06", "pain", 6), size, PEN["blue"], 3)
    pen.mark("tick", centre("2026-01-07", "pain", 4), size, PEN["ballpoint"], 3)
    pen.mark("tick", centre("2026-01-07", "pain", 8), size, PEN["ballpoint"], 3)
    a, b = centre("2026-01-08", "pain", 5), centre("2026-01-08", "pain", 6)
    pen.mark("cross", ((a[0] + b[0]) / 2, a[1]), size, PEN["felt"], 3)
    pen.mark("fill", centre("2026-01-09", "minutes", 10), size, PEN["felt"], 3)
    pen.mark("dot", centre("2026-01-09", "pain", 0), size, PEN["ballpoint"], 3)
    reading = read_diary([save(degrade(image, random.Random(2), rotate=1.0, blur=0.8), tmp_path / "marks.png")])
    day = {d.date.isoformat(): d for d in reading.days}
    assert (day["2026-01-05"].walked, day["2026-01-05"].pain, day["2026-01-05"].unclear) == (True, 3, ())
    assert (day["2026-01-06"].walked, day["2026-01-06"].pain, day["2026-01-06"].corrected) == (True, 6, ("pain",))
    assert (day["2026-01-07"].pain, day["2026-01-07"].unclear) == (None, ("pain",))
    assert (day["2026-01-08"].pain, day["2026-01-08"].unclear) == (None, ("pain",))
    assert (day["2026-01-09"].walked, day["2026-01-09"].minutes, day["2026-01-09"].pain) == (False, 10, 0)
    assert (day["2026-01-10"].walked, day["2026-01-10"].pain, day["2026-01-10"].minutes, day["2026-01-10"].unclear) == (False, None, None, ())


def test_a_mark_mostly_in_the_gap_between_two_circles_is_unclear(plan: tuple[Path, dict], tmp_path: Path) -> None:
    """A filled dot that only grazes one circle and lies mostly between it and the next is between two values: unclear, never that circle.

    It touches only circle 5, so no other rule (two marks, a faint second mark) makes it unclear: only the gap's own rule does.
    """
    from diary_scans import PEN, Pen

    path, diary_map = plan
    page = diary_map["pages"][0]
    image = render_page(str(path), page["page"], 200)
    pen = Pen(image, page["height"], 200, random.Random(0))
    fields = {(f["date"], f["field"], f["value"]): f["rect"] for f in page["fields"]}

    def centre(date: str, value: int) -> tuple[float, float]:
        x0, y0, x1, y1 = fields[(date, "pain", value)]
        return (x0 + x1) / 2, (y0 + y1) / 2

    size = 0.6 * 3.9 * 72 / 25.4  # a dot of 2.3 mm, as a pen pressed down makes
    gap_days = ("2026-01-05", "2026-01-06")
    for date, share in zip(gap_days, (0.40, 0.42)):  # of the way from circle 5's centre to circle 6's
        five, six = centre(date, 5), centre(date, 6)
        pen.mark("fill", (five[0] + share * (six[0] - five[0]), five[1]), size, PEN["ballpoint"], 3)
    five = centre("2026-01-07", 5)
    pen.mark("fill", five, size, PEN["ballpoint"], 3)  # the same dot in its circle is a clear 5: the rule is about the gap only
    reading = read_diary([save(degrade(image, random.Random(2), rotate=1.0, blur=0.8), tmp_path / "gap.png")])
    day = {d.date.isoformat(): d for d in reading.days}
    for date in gap_days:
        assert (day[date].pain, day[date].unclear) == (None, ("pain",)), date
    assert (day["2026-01-07"].pain, day["2026-01-07"].unclear) == (5, ())


@pytest.mark.parametrize("scan", ["fax-150", "fax-200", "grey-150"])
def test_a_ring_round_a_circle_is_a_mark_even_where_it_merges_with_the_outline(plan: tuple[Path, dict], tmp_path: Path, scan: str) -> None:
    """A pencil ring drawn tight round a circle: alone it is that value; with a cross on another circle the row is unclear, never the cross.

    On a black-and-white scan the ring and the printed outline become one thick ring, which the reader used to leave out.
    """
    from diary_scans import PEN, Pen

    path, diary_map = plan
    page = diary_map["pages"][0]
    dpi = int(scan[-3:])
    image = render_page(str(path), page["page"], dpi)
    pen = Pen(image, page["height"], dpi, random.Random(0))
    fields = {(f["date"], f["field"], f["value"]): f["rect"] for f in page["fields"]}

    def centre(date: str, field: str, value: int) -> tuple[float, float]:
        x0, y0, x1, y1 = fields[(date, field, value)]
        return (x0 + x1) / 2, (y0 + y1) / 2

    size, pencil = 3.9 * 72 / 25.4, (PEN["pencil"], max(2, round(dpi / 100)))
    rings = {"2026-01-05": ("pain", 3), "2026-01-06": ("pain", 9), "2026-01-07": ("minutes", 10), "2026-01-08": ("pain", 0)}
    for date, (field, value) in rings.items():
        pen.mark("circle", centre(date, field, value), size, *pencil)
    for date, (ring, cross) in {"2026-01-12": (2, 7), "2026-01-13": (8, 1), "2026-01-14": (5, 6)}.items():
        pen.mark("circle", centre(date, "pain", ring), size, *pencil)
        pen.mark("cross", centre(date, "pain", cross), size, PEN["ballpoint"], 3)
    damage = dict(rotate=3.0, scale=0.97, threshold=True) if scan.startswith("fax") else dict(rotate=-2.0, blur=0.8, noise=4)
    reading = read_diary([save(degrade(image, random.Random(1), **damage), tmp_path / "rings.png")])  # type: ignore[arg-type]
    day = {d.date.isoformat(): d for d in reading.days}
    for date, (field, value) in rings.items():
        assert (getattr(day[date], field), day[date].unclear) == (value, ()), date
    for date in ("2026-01-12", "2026-01-13", "2026-01-14"):
        assert (day[date].pain, day[date].unclear) == (None, ("pain",)), date
    assert all(d.unclear == () and d.pain is None for d in reading.days if d.date.isoformat() in ("2026-01-09", "2026-01-10", "2026-01-15"))


def test_a_note_in_a_tall_row_is_seen(tmp_path: Path) -> None:
    """A one-week plan's rows take the whole page (28 mm each): a few words in a notes or steps cell are still writing, empty cells are not."""
    from diary_scans import PEN, Pen

    path, diary_map = make_plan(tmp_path, "one-week", weeks=1)
    page = diary_map["pages"][0]
    image = render_page(str(path), page["page"], 150)
    pen = Pen(image, page["height"], 150, random.Random(0))
    layout = read_diary([save(image, tmp_path / "blank.png")]).pages[0].placed.layout
    written = {("2026-01-05", "notes"), ("2026-01-07", "steps"), ("2026-01-11", "notes")}
    for cell in layout.cells:
        if (cell.date.isoformat(), cell.field) in written:
            pen.scribble(cell.rect, PEN["ballpoint"], 2)
    reading = read_diary([save(degrade(image, random.Random(1), rotate=1.5, noise=4), tmp_path / "notes.png")])
    assert {(d.date.isoformat(), field) for d in reading.days for field in d.written} == written


def test_large_print_spanish_letter_diary_reads_too(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, "large", paper="letter", weeks=2, language="es", large_print=True)
    images, truth = filled(plan, 150, seed=2)
    rng = random.Random(4)
    files = [save(degrade(img, rng, rotate=-3, scale=0.96, blur=0.7, noise=4), tmp_path / f"p{i}.tif") for i, img in enumerate(images)]
    wrong, unclear = mismatches(read_diary(files), truth)
    assert wrong == [] and len(unclear) <= 1, (wrong, unclear)


def test_two_plans_are_never_mixed(plan: tuple[Path, dict], tmp_path: Path) -> None:
    other = make_plan(tmp_path, "other", patient="Someone Else")
    first = save(render_page(str(plan[0]), plan[1]["pages"][0]["page"], 150), tmp_path / "mine.png")
    second = save(render_page(str(other[0]), other[1]["pages"][1]["page"], 150), tmp_path / "theirs.png")
    result = runner.invoke(app, ["read-diary", str(first), str(second), "--json", str(tmp_path / "out.json")])
    assert result.exit_code != 0
    line = one_line_error(result)
    assert "theirs.png" in line and "different plan" in line
    assert not (tmp_path / "out.json").exists()


def test_bad_scans_get_one_line(plan: tuple[Path, dict], tmp_path: Path) -> None:
    import pikepdf

    text = tmp_path / "notes.txt"
    text.write_text("not a scan")
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(plan[0]) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="o", user="u"))
    leaflet_only = tmp_path / "leaflet.png"
    render_page(str(plan[0]), 1, 150).save(leaflet_only)
    tiny = tmp_path / "tiny.png"
    render_page(str(plan[0]), plan[1]["pages"][0]["page"], 60).save(tiny)
    blurred = tmp_path / "blurred.png"  # a phone photo badly out of focus: a blur of 0.5 mm
    degrade(render_page(str(plan[0]), plan[1]["pages"][0]["page"], 200), random.Random(5), rotate=1.0, blur=4.0, noise=5, jpeg=60).save(blurred)
    for path, words in (
        (text, "not a PDF or a PNG"),
        (locked, "encrypted"),
        (leaflet_only, "no diary page"),
        (tiny, "too small"),
        (blurred, "too blurred"),
        (tmp_path / "gone.png", "not found"),
    ):
        result = runner.invoke(app, ["read-diary", str(path)])
        assert result.exit_code != 0, path
        line = one_line_error(result)
        assert path.name in line and words in line, line
        if path in (tiny, blurred):
            assert "scan it again in focus" in line if path == blurred else "dpi, too small" in line
            assert line.endswith(f"at {align.NEEDED_DPI} dpi or more"), line  # the resolution needed


def test_report_pdf(plan: tuple[Path, dict], tmp_path: Path) -> None:
    import pypdf

    images, truth = filled(plan, 150, seed=9)
    files = [save(img, tmp_path / f"p{i}.png") for i, img in enumerate(images)]
    result = runner.invoke(app, ["read-diary", *map(str, files), "-o", str(tmp_path / "report.pdf"), "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out.json").read_text())
    walked = sum(1 for d in record["days"] if d["walked"])
    reader = pypdf.PdfReader(tmp_path / "report.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert f"Walked on {min(walked, 30) if walked <= 30 else ''}" in text or "Walked on" in text
    assert record["adherence"]["planned_walks"] == 30 and f"of {record['adherence']['planned_walks']} planned days" in text
    assert "Week by week" in text and "Marks to check by eye" in text
    unclear_days = [d for d in record["days"] if d["unclear"]]
    images_in_pdf = sum(len(page.images) for page in reader.pages)
    assert images_in_pdf >= len(unclear_days) > 0
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"]
    structure = str(reader.trailer["/Root"]["/StructTreeRoot"].get_object())
    assert "StructTreeRoot" in str(reader.trailer["/Root"]) and structure


def test_next_plan_continues_from_the_last_week_managed(tmp_path: Path) -> None:
    from helpers import body_text

    weeks = [
        {"week": 1, "walks": 5, "planned_walks": 5, "minutes_per_walk": 10},
        {"week": 2, "walks": 4, "planned_walks": 5, "minutes_per_walk": 12},  # 80 %: managed
        {"week": 3, "walks": 2, "planned_walks": 5, "minutes_per_walk": 14},  # not managed
    ]
    record = {"days": [], "pages": [3], "skipped": [], "plan": {"start_date": "2026-01-05", "start_minutes": 10, "target_minutes": 30, "walks_per_week": 5, "weeks": 12}, "weeks": weeks}
    (tmp_path / "read.json").write_text(json.dumps(record))
    for lang, sentence in (("en", "In week 2 you walked 4 of 5 times, so you start at 12 minutes a walk."), ("es", "En la semana 2 caminó 4 de 5 veces")):
        result = runner.invoke(app, ["plan", "--patient", "P", "--continue-from", str(tmp_path / "read.json"), "--lang", lang, "--start-date", "2026-04-06", "-o", str(tmp_path / "next.pdf")] if False else ["plan", "--patient", "P", "--continue-from", str(tmp_path / "read.json"), "--lang", lang, "--start-date", "2026-04-06", "-o", str(tmp_path / "next.pdf")])
        assert result.exit_code == 0, result.output
        text = body_text((tmp_path / "next.pdf").read_bytes())
        assert sentence in text
    schedule = runner.invoke(app, ["plan", "--patient", "P", "--continue-from", str(tmp_path / "read.json"), "--start-date", "2026-04-06", "--json"])
    minutes = [w["minutes_per_walk"] for w in json.loads(schedule.stdout)["weeks"]]
    assert minutes[0] == 12 and minutes[-1] == 30 and all(0 <= b - a <= 5 for a, b in zip(minutes, minutes[1:]))  # the same gradual rules
    (tmp_path / "other.json").write_text('{"pages": []}')
    result = runner.invoke(app, ["plan", "--patient", "P", "--continue-from", str(tmp_path / "other.json")])
    assert result.exit_code != 0 and "other.json" in one_line_error(result)
