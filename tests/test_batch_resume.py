"""Issue 15, item 16: a resumed (or repeated) batch keeps the plans an earlier run made from the same rows and counts
them, instead of rendering every row again; a changed row, brand, date or file is made again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from handout.batch import BatchOptions, BatchResult, Reporter, run_batch

from conftest import set_brand_value

TODAY = dt.date(2026, 12, 4)
HEADER = "name,patient_id,email,consent_email,weeks"
ENV = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}


class StopAfter(Reporter):
    """Stops the run after `count` plans, as a Ctrl-C between plans does."""

    def __init__(self, count: int) -> None:
        self.count = count

    def advance(self) -> None:
        self.count -= 1
        if self.count == 0:
            raise KeyboardInterrupt


def write_list(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def run(csv_path: Path, out: Path, brand: Path | None = None, today: dt.date = TODAY, reporter: Reporter | None = None) -> BatchResult:
    return run_batch(BatchOptions(csv_path, out_dir=out, workers=1, today=today, brand_dir=brand), ENV, reporter)


def stamps(out: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in out.glob("P*.pdf")}


ROWS = [f"Patient {i},P{i},p{i}@example.org,{'yes' if i % 2 else 'no'},1" for i in range(1, 5)]


def test_an_interrupted_run_goes_on_where_it_stopped_and_an_unchanged_rerun_renders_nothing(tmp_path: Path, brand_dir: Path) -> None:
    csv_path = write_list(tmp_path / "p.csv", ROWS)
    out = tmp_path / "plans"
    with pytest.raises(KeyboardInterrupt):
        run(csv_path, out, brand_dir, reporter=StopAfter(2))
    made_first = stamps(out)
    assert sorted(made_first) == ["P1.pdf", "P2.pdf"]

    resumed = run(csv_path, out, brand_dir)
    assert resumed.ok and resumed.rendered == [2, 3, 4, 5]
    assert {name: stamp for name, stamp in stamps(out).items() if name in made_first} == made_first, "the interrupted run's plans were rendered again"
    assert resumed.kept == [2, 3]
    assert resumed.outbox == [2, 4] and resumed.to_print == [3, 5]  # kept plans are delivered like new ones
    assert resumed.to_print_files is not None and len(resumed.to_print_files.entries) == 2

    again = run(csv_path, out, brand_dir)
    assert again.kept == [2, 3, 4, 5] and again.outbox == [2, 4]


def test_what_changed_is_made_again(tmp_path: Path, brand_dir: Path) -> None:
    csv_path = write_list(tmp_path / "p.csv", ROWS)
    out = tmp_path / "plans"
    assert run(csv_path, out, brand_dir).kept == []
    # One row changed: only that plan is made again.
    write_list(csv_path, [ROWS[0].replace(",1", ",2"), *ROWS[1:]])
    assert run(csv_path, out, brand_dir).kept == [3, 4, 5]
    # A plan file replaced by someone: made again.
    (out / "P2.pdf").write_bytes(b"not the plan")
    result = run(csv_path, out, brand_dir)
    assert result.kept == [2, 4, 5] and (out / "P2.pdf").read_bytes().startswith(b"%PDF")
    # Another day (the date the plan carries), or a changed brand: every plan is made again.
    assert run(csv_path, out, brand_dir, today=TODAY + dt.timedelta(days=1)).kept == []
    set_brand_value(brand_dir, "phone", '"+44 20 7946 0999"')
    assert run(csv_path, out, brand_dir, today=TODAY + dt.timedelta(days=1)).kept == []
