"""A batch's plans: written by the workers under temporary names, then flushed to disk and named by the batch's own process."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout import batch
from handout.cli import app
from handout.errors import HandoutError
from handout.output import Unsynced, commit_written, write_unsynced


def test_an_unsynced_plan_has_no_name_until_it_is_committed_then_it_is_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "P1.pdf"
    written = write_unsynced(path, b"%PDF- whole")
    assert not path.exists()
    assert written.temp.parent == tmp_path and written.temp.name.startswith(".P1.pdf.") and written.temp.name.endswith(".part")
    assert stat.S_IMODE(os.stat(written.temp).st_mode) == 0o600
    assert commit_written(written) == path
    assert path.read_bytes() == b"%PDF- whole" and not written.temp.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_committing_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.pdf"
    target.write_bytes(b"old")
    link = tmp_path / "P1.pdf"
    link.symlink_to(target)
    commit_written(write_unsynced(link, b"new"))
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_a_plan_whose_name_became_a_folder_meanwhile_is_refused_in_one_line_and_its_temporary_file_removed(tmp_path: Path) -> None:
    written = write_unsynced(tmp_path / "P1.pdf", b"%PDF-")
    (tmp_path / "P1.pdf").mkdir()
    with pytest.raises(HandoutError, match=r"P1\.pdf: is a folder, not a file"):
        commit_written(written)
    assert not written.temp.exists()


def test_a_plan_its_worker_cannot_write_is_one_failed_row_and_every_other_plan_is_made(tmp_path: Path) -> None:
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\n" + "".join(f"Patient {i},P{i},1\n" for i in range(1, 6)), encoding="utf-8")
    out = tmp_path / "plans"
    (out / "P3.pdf").mkdir(parents=True)
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", "2"])
    assert result.exit_code == 1
    assert re.search(r"row 4 \(patient_id P3\): could not be written: .*P3\.pdf: is a folder, not a file", result.stderr), result.stderr
    assert sorted(path.name for path in out.glob("P*.pdf") if path.is_file()) == ["P1.pdf", "P2.pdf", "P4.pdf", "P5.pdf"]
    assert not list(out.glob(".*.part"))
    listed = (out / "to-print.txt").read_text(encoding="utf-8")
    assert "P3\t" not in listed and "P5\t" in listed


def test_a_plan_that_cannot_be_named_when_it_is_taken_in_is_one_failed_row_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker wrote P3's plan; by the time this process names it, a folder has taken its name (someone's mkdir)."""
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\n" + "".join(f"Patient {i},P{i},1\n" for i in range(1, 6)), encoding="utf-8")
    out = tmp_path / "plans"
    commit = batch.commit_written

    def folder_first(written: Unsynced) -> Path:
        if written.path.name == "P3.pdf":
            assert written.temp.exists()  # written by its worker, not named yet
            written.path.mkdir()
        return commit(written)

    monkeypatch.setattr(batch, "commit_written", folder_first)
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", "2"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "P3" in line]
    assert len(lines) == 1 and re.search(r"row 4 \(patient_id P3\): could not be written: .*P3\.pdf: is a folder, not a file", lines[0]), result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in out.glob("P*.pdf") if path.is_file()) == ["P1.pdf", "P2.pdf", "P4.pdf", "P5.pdf"]
    assert not list(out.glob(".*.part"))
    assert "P3\t" not in (out / "to-print.txt").read_text(encoding="utf-8")


def test_a_plan_whose_name_is_a_link_out_of_the_folder_is_never_left_for_the_sweep_outside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary file waiting to be named is swept from the output folder if the run stops first: never is one made elsewhere."""
    waiting: list[Path] = []
    commit = batch.commit_written

    def noted(written: Unsynced) -> Path:
        waiting.append(written.temp.parent)
        return commit(written)

    monkeypatch.setattr(batch, "commit_written", noted)
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\nPatient 1,P1,1\nPatient 2,P2,1\n", encoding="utf-8")
    out, elsewhere = tmp_path / "plans", tmp_path / "shared"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "current.pdf").write_bytes(b"old")
    (out / "P1.pdf").symlink_to(elsewhere / "current.pdf")
    result = CliRunner().invoke(app, ["batch", str(patients), "--out-dir", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.stderr
    assert (out / "P1.pdf").is_symlink() and (elsewhere / "current.pdf").read_bytes().startswith(b"%PDF-")
    assert sorted(path.name for path in elsewhere.iterdir()) == ["current.pdf"]
    assert waiting == [out]  # P2's; P1's, through the link, was written and named by its worker


def _strace_works() -> bool:
    """strace installed and allowed to trace (a container without ptrace refuses it)."""
    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-f", "-o", os.devnull, "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _strace_works(), reason="strace (Debian's strace, which .ci/run installs), allowed to trace, shows which process flushes what")
def test_workers_never_wait_for_the_disk_and_each_plan_is_flushed_before_it_gets_its_name(tmp_path: Path) -> None:
    patients = tmp_path / "patients.csv"
    patients.write_text("name,patient_id,weeks\n" + "".join(f"Patient {i},P{i},1\n" for i in range(1, 7)), encoding="utf-8")
    out, trace = tmp_path / "plans", tmp_path / "trace.txt"
    command = [sys.executable, "-m", "handout", "batch", str(patients), "--out-dir", str(out), "--workers", "2"]
    ran = subprocess.run(["strace", "-f", "-qq", "-y", "-o", str(trace), "-e", "trace=execve,fsync,fdatasync,rename,renameat,renameat2", *command], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    events = _plan_events(trace.read_text(encoding="utf-8", errors="replace"))
    batch_process = events[0][0]  # the first process traced is the one strace started: the batch's own
    assert sorted(path.name for path in out.glob("P*.pdf")) == [f"P{i}.pdf" for i in range(1, 7)]
    for i in range(1, 7):
        mine = [(pid, call, temp) for pid, call, temp, name in events[1:] if re.fullmatch(rf"\.P{i}\.pdf\.[a-z0-9_]{{8}}\.part", temp)]
        assert [(pid, call) for pid, call, _ in mine] == [(batch_process, "fsync"), (batch_process, "rename")], mine
        assert mine[0][2] == mine[1][2]  # the file flushed is the one named


def _plan_events(trace: str) -> list[tuple[int, str, str, str]]:
    """(process, call, temporary file, new name) of the traced program's start, and of each flush or rename of a plan's temporary file."""
    events: list[tuple[int, str, str, str]] = []
    for line in trace.splitlines():
        started = re.match(r"(\d+) +execve\(", line)
        if started and not events:
            events.append((int(started[1]), "execve", "", ""))
        flushed = re.match(r"(\d+) +f(?:data)?sync\(\d+<[^>]*/(\.P[^>/]*\.part)>", line)  # ")" or " <unfinished ...>"
        if flushed:
            events.append((int(flushed[1]), "fsync", flushed[2], ""))
        renamed = re.match(r'(\d+) +rename(?:at2?)?\((?:[^,]*, )?"[^"]*/(\.P[^"/]*\.part)", (?:[^,]*, )?"[^"]*?([^"/]*)"', line)
        if renamed:
            events.append((int(renamed[1]), "rename", renamed[2], renamed[3]))
    return events
