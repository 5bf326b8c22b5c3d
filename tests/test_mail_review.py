"""Review of issue 7's email work: one outbox message per patient whatever the row order, a corrected row's
stale message removed, brand addresses every server takes, the outbox locked while a batch writes there,
the "may have arrived" mark kept after a dropped DATA, and one module per job. Real SMTP server, no mocks."""

from __future__ import annotations

import ast
import asyncio
import email
import email.policy
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handout.cli import app

from conftest import set_brand_value
from helpers import one_line_error
from smtp_server import Recorder, SmtpServer, make_certificates

ROOT = Path(__file__).resolve().parents[1]
LOCK_FILE = ".handout-batch.lock"  # the lock-file protocol batches use, seen from another process's side
ENV = {"HANDOUT_MAIL_FROM": "plans@example-physio.org"}


def run(args: list[str], env: dict[str, str | None]):
    return CliRunner().invoke(app, args, env=env)


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def recipients(outbox: Path) -> list[str]:
    return sorted(email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"] for f in outbox.glob("*.eml"))


# ---------------------------------------------------------------------------
# 1. Outbox messages by patient, never by row position; a corrected row's old message removed


def test_a_row_inserted_above_rows_without_an_id_leaves_one_outbox_message_per_patient(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    header = "name,email,consent_email,weeks"
    ann, ben = "Ann Able,ann@example.org,yes,2", "Ben Bold,ben@example.org,yes,2"
    write_csv(csv_path, header, [ann, ben])
    args = ["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--workers", "1"]
    assert run(args, ENV).exit_code == 0
    write_csv(csv_path, header, ["Cat Cole,cat@example.org,yes,2", ann, ben])
    result = run(args, ENV)
    assert result.exit_code == 0, result.stderr
    outbox = tmp_path / "plans" / "outbox"
    assert recipients(outbox) == ["ann@example.org", "ben@example.org", "cat@example.org"]
    assert not any(f.name.startswith("row-") for f in outbox.glob("*.eml")), "a file name still carries the row position"


def test_a_corrected_address_leaves_only_the_new_message_for_that_patient(tmp_path: Path) -> None:
    csv_path = tmp_path / "p.csv"
    header = "name,patient_id,email,consent_email,weeks"
    others = ["Ben Bold,P2,ben@example.org,yes,2", "Cat Cole,,cat@example.org,yes,2"]
    args = ["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--workers", "1"]
    write_csv(csv_path, header, ["Ann Able,P1,ann@exmaple.org,yes,2", *others])
    assert run(args, ENV).exit_code == 0
    outbox = tmp_path / "plans" / "outbox"
    kept = {f.name: f.read_bytes() for f in outbox.glob("*.eml") if not f.name.startswith("P1-")}
    write_csv(csv_path, header, ["Ann Able,P1,ann@example.org,yes,2", *others])  # the typo corrected
    result = run(args, ENV)
    assert result.exit_code == 0, result.stderr
    assert recipients(outbox) == ["ann@example.org", "ben@example.org", "cat@example.org"]
    assert len(list(outbox.glob("P1-*.eml"))) == 1
    assert set(kept) <= {f.name for f in outbox.glob("*.eml")}, "another patient's message was removed"


# ---------------------------------------------------------------------------
# 2. A brand email every server can take


def test_a_brand_email_with_non_ascii_letters_before_the_at_is_refused_when_the_brand_loads(brand_dir: Path, tmp_path: Path) -> None:
    set_brand_value(brand_dir, "email", '"ñoño@clínica.es"')
    result = run(["leaflet", "--brand", str(brand_dir), "-o", str(tmp_path / "l.pdf")], {})
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "brand.toml" in line and "key 'email'" in line and "before the @" in line
    assert not (tmp_path / "l.pdf").exists()
    set_brand_value(brand_dir, "email", '"hola@clínica.es"')  # an international domain is fine (it travels as IDNA)
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "--outbox", str(tmp_path / "o"), "--brand", str(brand_dir), "-o", str(tmp_path / "p.pdf")], ENV)
    assert result.exit_code == 0, result.stderr
    (eml,) = (tmp_path / "o").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Reply-To"].addresses[0].addr_spec == "hola@xn--clnica-4va.es"


# ---------------------------------------------------------------------------
# 3. A shared outbox: a batch never sweeps what another run is writing there


def hold_lock(folder: Path, exclusive: bool) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    return handle


@pytest.mark.parametrize("holder", ["batch", "single-plan"])
def test_a_batch_leaves_a_shared_outbox_alone_while_another_run_writes_there(tmp_path: Path, holder: str) -> None:
    outbox = tmp_path / "outbox"
    handle = hold_lock(outbox, exclusive=holder == "batch")
    try:
        in_progress = outbox / ".walking-plan.abc123.part"
        in_progress.write_bytes(b"half a message")
        csv_path = write_csv(tmp_path / "p.csv", "name,email,consent_email,weeks", ["Ann Able,ann@example.org,yes,2"])
        result = run(["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--outbox", str(outbox), "--workers", "1"], ENV)
        assert in_progress.exists(), "the batch removed another run's file in progress"
        assert result.exit_code == 1
        assert "outbox" in one_line_error(result)
        assert not list(outbox.glob("*.eml"))
    finally:
        os.close(handle)


def test_a_single_plan_refuses_an_outbox_a_batch_is_writing_to(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    handle = hold_lock(outbox, exclusive=True)
    try:
        result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "--outbox", str(outbox), "-o", str(tmp_path / "p.pdf")], ENV)
        assert result.exit_code == 1
        line = one_line_error(result)
        assert "batch" in line and "outbox" in line
        assert not list(outbox.glob("*.eml")) and not list(outbox.glob(".*.part"))
    finally:
        os.close(handle)
    result = run(["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "--outbox", str(outbox), "-o", str(tmp_path / "p.pdf")], ENV)
    assert result.exit_code == 0, result.stderr
    assert len(list(outbox.glob("*.eml"))) == 1


# ---------------------------------------------------------------------------
# 4. A connection lost after DATA: the plan may have arrived, and the re-run says so


class DropsAfterData(Recorder):
    """Takes the whole message, then hangs up without a reply, as a crashing server or a cut line does."""

    def __init__(self) -> None:
        super().__init__()
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.message_ids.append(email.message_from_bytes(envelope.content, policy=email.policy.default)["Message-ID"])
        server.transport.close()
        await asyncio.sleep(0.2)
        return "421 closing"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def dropping_server(certificates) -> Iterator[SmtpServer]:
    smtp = SmtpServer(certificates)
    smtp.recorder = DropsAfterData()
    smtp.start()
    yield smtp
    smtp.stop()


def test_a_plan_lost_after_data_is_maybe_sent_and_resent_only_when_asked_with_its_message_id(dropping_server: SmtpServer, certificates, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "p.csv", "name,patient_id,email,consent_email,weeks", ["Ann Able,P1,ann@example.org,yes,2"])
    args = ["batch", str(csv_path), "--out-dir", str(tmp_path / "plans"), "--send", "--workers", "1"]
    first = run(args, {**dropping_server.env(), "HANDOUT_SMTP_ATTEMPTS": "2"})
    assert first.exit_code == 1, first.stderr
    recorder: DropsAfterData = dropping_server.recorder  # type: ignore[assignment]
    assert len(recorder.message_ids) == 1, "a message that may have arrived was handed over again"
    dropping_server.stop()
    good = SmtpServer(certificates, port=dropping_server.port).start()
    try:
        again = run(args, good.env())
        assert again.exit_code == 1 and "Maybe sent" in again.stdout
        assert good.recorder.messages == [], "a maybe-sent plan was sent again without being asked"
        asked = run([*args, "--resend-maybe-sent"], good.env())
        assert asked.exit_code == 0, asked.stderr
        (message,) = good.recorder.messages
        assert message["Message-ID"] == recorder.message_ids[0]
    finally:
        good.stop()


def test_a_single_plan_lost_after_data_says_it_may_have_arrived(dropping_server: SmtpServer, tmp_path: Path) -> None:
    args = ["plan", "--patient", "Jane Doe", "--email", "jane@example.org", "--consent", "-o", str(tmp_path / "p.pdf")]
    result = run(args, {**dropping_server.env(), "HANDOUT_SMTP_ATTEMPTS": "1"})
    assert result.exit_code == 1
    assert "may have arrived" in one_line_error(result)


# ---------------------------------------------------------------------------
# 5, 6. One rule, one helper, one job per module


def handout_sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "handout").glob("*.py")}


def test_one_address_rule_one_file_writer_one_umask() -> None:
    sources = handout_sources()
    assert [n for n, s in sources.items() if "email_validator" in s] == ["checks.py"]
    assert [n for n, s in sources.items() if "def _umask" in s] == ["output.py"]
    assert [n for n, s in sources.items() if "mkstemp" in s] == ["output.py"]


def test_mail_modules_have_one_job_each() -> None:
    sources = handout_sources()
    mail = ast.parse(sources["mail.py"])
    imported = {alias.name for node in ast.walk(mail) if isinstance(node, ast.Import) for alias in node.names}
    assert not imported & {"smtplib", "ssl", "socket", "tempfile"}, "mail.py still talks SMTP or writes files itself"
    for name in ("smtp.py", "outbox.py"):
        tree = ast.parse(sources[name])
        docstring = ast.get_docstring(tree)
        assert docstring and "\n" not in docstring.strip()
    assert len(sources["mail.py"].splitlines()) < 250


def test_a_single_plans_message_id_reveals_nothing_about_the_patient(tmp_path: Path) -> None:
    # Derived from the plan without a secret, anyone who saw the headers could test guessed names
    # against it by rendering candidate plans, even when the PDF itself is locked.
    import hashlib
    from email import message_from_bytes

    from typer.testing import CliRunner

    from handout.brand import load_brand
    from handout.cli import app

    ids = []
    for attempt in range(2):
        output = tmp_path / f"plan-{attempt}.pdf"
        result = CliRunner().invoke(
            app,
            ["plan", "--patient", "Priya Patel", "--start-date", "2027-01-04", "--email", "p@example.org", "--consent", "--outbox", str(tmp_path / "out"), "-o", str(output)],
            env={"HANDOUT_MAIL_FROM": "plans@example.org"},
        )
        assert result.exit_code == 0, result.stderr
        guessable = hashlib.sha256("\0".join((load_brand().name, "", hashlib.sha256(output.read_bytes()).hexdigest())).encode()).hexdigest()[:32]
        (eml,) = set((tmp_path / "out").glob("*.eml")) - {path for path, _ in ids}
        message_id = message_from_bytes(eml.read_bytes())["Message-ID"]
        assert guessable not in message_id
        ids.append((eml, message_id))
    assert ids[0][1] != ids[1][1], "the same plan sent twice by hand is two messages"


def test_one_attempt_is_one_attempt(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from handout.cli import app

    with socket.socket() as probe:  # a port nothing listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"HANDOUT_SMTP_HOST": "127.0.0.1", "HANDOUT_SMTP_PORT": str(port), "HANDOUT_SMTP_SECURITY": "none", "HANDOUT_MAIL_FROM": "plans@example.org", "HANDOUT_SMTP_ATTEMPTS": "1"}
    result = CliRunner().invoke(app, ["plan", "--patient", "Jane Doe", "--email", "j@example.org", "--consent", "-o", str(tmp_path / "p.pdf")], env=env)
    assert result.exit_code == 1
    assert "unavailable after 1 attempt (" in result.stderr, result.stderr
