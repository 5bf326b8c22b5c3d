"""Plans an earlier run made that nothing has changed since: kept and counted, not rendered again (a resumed batch goes on where it stopped)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from handout import __version__

if TYPE_CHECKING:
    from handout.batch import BatchOptions
    from handout.batch_worker import Rendered
    from handout.brand import Brand
    from handout.journal import Journal
    from handout.patients import PatientRow


def run_signature(options: BatchOptions, brand: Brand) -> str:
    """Everything besides the row that goes into a plan: handout's version, paper, the date it carries, locking, the brand and template files."""
    from handout.pipeline import document_date

    digest = hashlib.sha256("\0".join((__version__, options.paper, document_date(options.today).isoformat(), str(options.encrypt))).encode())
    for folder in (brand.directory, *options.template_dirs):
        for file in sorted(path for path in folder.rglob("*") if path.is_file()):
            digest.update(f"\0{file.relative_to(folder)}\0".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def made_from(journal: Journal, row: PatientRow, signature: str) -> str:
    """The plan's identity: the row as asked for (its PDF password included when locked) and the run's signature, keyed."""
    return journal.keyed(f"plan\0{row.key}\0{row.patient_id}\0{row.fingerprint}\0{signature}")


def kept_or_rendered(
    rows: Sequence[PatientRow],
    out_dir: Path,
    journal: Journal,
    signature: str,
    may_keep: Callable[[PatientRow], bool],
    render: Callable[[list[PatientRow]], Iterator[Rendered]],
) -> Iterator[Rendered]:
    """Plans in row order: those on disk as an earlier run made them from the same inputs are kept, the rest are rendered.

    `may_keep` says no where a kept file would not do (an encrypted plan to print: its unlocked bytes exist only while rendering).
    """
    from handout.batch_worker import Rendered, plan_path

    kept: dict[int, Rendered] = {}
    for row in rows:
        if may_keep(row):
            path = plan_path(out_dir, row)
            document_hmac = journal.plan_made(path, made_from(journal, row, signature))
            if document_hmac is not None:
                kept[row.row] = Rendered(row.row, row.key, path, "", document_hmac=document_hmac, kept=True)
    rendered = render([row for row in rows if row.row not in kept])
    for row in rows:
        yield kept[row.row] if row.row in kept else next(rendered)
