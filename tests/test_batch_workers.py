"""A batch's render workers start from a fork server that has loaded ReportLab, handout and the fonts once, and they render the same bytes."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from typer.testing import CliRunner

from handout import batch
from handout.cli import app


def what_a_new_worker_has() -> dict[str, bool]:
    """Run in a freshly forked worker, before it has done anything of its own."""
    from handout.render import fonts

    return {
        "preloaded": "handout.worker_preload" in sys.modules,
        "reportlab": "reportlab.platypus" in sys.modules and "handout.render.pdf" in sys.modules,
        "fonts": fonts.register_fonts.cache_info().currsize == 1 and fonts.register_face.cache_info().currsize >= 1,
    }


def test_workers_start_with_reportlab_handout_and_the_fonts_loaded() -> None:
    batch.start_worker_server()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver")) as pool:
        assert pool.submit(what_a_new_worker_has).result() == {"preloaded": True, "reportlab": True, "fonts": True}


def test_plans_from_preloaded_workers_are_byte_identical_to_plans_made_in_one_process(tmp_path: Path) -> None:
    names = ["Jane Doe", "Σοφία Παπαδοπούλου", "Łukasz Żółć", "Ana García"]
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "name,patient_id,weeks,language,large_print\n" + "".join(f'"{n}",P{i},{(1, 12, 4, 26)[i]},{"es" if i == 3 else ""},{"yes" if i == 2 else ""}\n' for i, n in enumerate(names)),
        encoding="utf-8",
    )
    made = {}
    for workers in ("1", "2"):
        out = tmp_path / f"workers-{workers}"
        result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", workers])
        assert result.exit_code == 0, result.output
        made[workers] = {path.name: path.read_bytes() for path in sorted(out.glob("*.pdf"))}
    assert len(made["1"]) == len(names) + 2  # the plans, to-print.pdf and its sheet
    assert made["1"] == made["2"]
