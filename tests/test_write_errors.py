"""A write that fails (a full disk, ulimit -f), standard output included, is one line and a non-zero exit, never "Wrote …"."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

LIMIT_BYTES = 8192  # smaller than any PDF handout makes


def handout(args: list[str], cwd: Path, stdout: object = subprocess.PIPE, file_size_limit: int | None = None, env: dict[str, str] | None = None):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [sys.executable, "-m", "handout", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        preexec_fn=limit if file_size_limit is not None else None,
        timeout=120,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode != 0, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("handout: error: "), stderr
    assert "Traceback" not in stderr and "Wrote" not in stderr and "Exception ignored" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("list")
    (folder / "patients.csv").write_text("name,patient_id\nAlice Able,P1\n", encoding="utf-8")
    return folder / "patients.csv"


FULL_DISK_COMMANDS = {
    "leaflet -o -": ["leaflet", "-o", "-"],
    "plan -o -": ["plan", "--patient", "Jane Doe", "--weeks", "1", "-o", "-"],
    "plan --json": ["plan", "--patient", "Jane Doe", "--json"],
    "--help": ["--help"],
    "--version": ["--version"],
    "init-brand": ["init-brand", "new-brand"],
}


@pytest.mark.parametrize("name", FULL_DISK_COMMANDS)
def test_a_full_disk_on_standard_output_is_one_line_and_a_failure(tmp_path: Path, name: str) -> None:
    with open("/dev/full", "wb") as full:
        result = handout(FULL_DISK_COMMANDS[name], tmp_path, stdout=full)
    assert_one_line_failure(result, "standard output: cannot write (no space left on device)")


def test_a_batch_summary_to_a_full_disk_is_one_line_and_a_failure(tmp_path: Path, patients: Path) -> None:
    with open("/dev/full", "wb") as full:
        result = handout(["batch", str(patients), "--out-dir", "plans", "--workers", "1"], tmp_path, stdout=full)
    assert_one_line_failure(result, "standard output: cannot write")


@pytest.mark.parametrize("command", [["leaflet"], ["plan", "--patient", "Jane Doe", "--weeks", "1"]], ids=["leaflet", "plan"])
def test_a_pdf_cut_short_by_ulimit_on_standard_output_leaves_the_file_as_it_was(tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "out.pdf"
    with target.open("wb") as stream:
        result = handout([*command, "-o", "-"], tmp_path, stdout=stream, file_size_limit=LIMIT_BYTES)
    assert_one_line_failure(result, "standard output: cannot write (the file-size limit, ulimit -f, was reached)")
    assert target.read_bytes() == b"", "no truncated PDF is left behind"


@pytest.mark.parametrize("command", [["leaflet"], ["plan", "--patient", "Jane Doe", "--weeks", "1"]], ids=["leaflet", "plan"])
def test_a_pdf_file_cut_short_by_ulimit_is_not_written_at_all(tmp_path: Path, command: list[str]) -> None:
    result = handout([*command, "-o", "out.pdf"], tmp_path, file_size_limit=LIMIT_BYTES)
    assert_one_line_failure(result, "out.pdf: cannot write (the file-size limit, ulimit -f, was reached)")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_batch_under_ulimit_reports_the_rows_it_could_not_write(tmp_path: Path, patients: Path) -> None:
    result = handout(["batch", str(patients), "--out-dir", "plans", "--workers", "1"], tmp_path, file_size_limit=LIMIT_BYTES)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr, stderr
    # The journal or the plan is the first write to fail: either way, said, and no plan is there.
    assert "cannot" in stderr and "Wrote" not in stderr
    assert not list((tmp_path / "plans").glob("*.pdf"))


LOCALE_COMMANDS = {
    "check": (["check"], 0),
    "--help": (["--help"], 0),
    "plan --help": (["plan", "--help"], 0),
    "batch": (["batch", "PATIENTS", "--out-dir", "plans", "--workers", "1"], 0),
    "plan --json": (["plan", "--patient", "Zoë Ærø Łukasz Nguyễn", "--json"], 0),
    "a bad option": (["plan", "--patient", "Jane Doe", "--weeks", "99"], 2),
}


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@pytest.mark.parametrize("name", LOCALE_COMMANDS)
def test_a_terminal_without_unicode_gets_look_alikes_never_a_traceback(tmp_path: Path, patients: Path, name: str, encoding: str) -> None:
    if name == "check" and encoding == "latin-1":
        pytest.skip("check's report is the slowest command; one encoding without '≤' shows the class")
    args, code = LOCALE_COMMANDS[name]
    result = handout([str(patients) if a == "PATIENTS" else a for a in args], tmp_path, env={"PYTHONIOENCODING": encoding})
    stdout, stderr = result.stdout.decode(encoding), result.stderr.decode(encoding)
    assert result.returncode == code and "Traceback" not in stderr and "Error" not in stderr, stderr
    assert stdout.strip() or stderr.strip()
    if name == "plan --json":
        import json

        assert json.loads(stdout)["patient"] == "Zoë Ærø Łukasz Nguyễn"  # escaped where need be, never changed
    if name == "check":
        assert "PASS" in stdout and (">=" in stdout or "<=" in stdout)  # ≥ shown as >=
    if name == "batch":
        assert "Rendered" in stdout and "Alice" not in stdout
