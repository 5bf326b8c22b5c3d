"""Password-protects a finished PDF with AES-256 (PDF 2.0 security handler, revision 6)."""

from __future__ import annotations

import io
import secrets

from handout.errors import HandoutError


def encrypt_pdf(pdf: bytes, password: str) -> bytes:
    """The same PDF, readable only with `password`; printing and screen readers stay allowed.

    qpdf (through pikepdf) writes revision 6, which every reader tried here opens;
    ReportLab's own encryption is RC4 by default. The owner password is random
    and thrown away: nobody needs to edit a patient's plan.
    """
    import pikepdf

    if not password:
        raise HandoutError("a PDF password cannot be empty")
    permissions = pikepdf.Permissions(
        accessibility=True,
        extract=False,
        modify_annotation=False,
        modify_assembly=False,
        modify_form=False,
        modify_other=False,
        print_lowres=True,
        print_highres=True,
    )
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(user=password, owner=secrets.token_urlsafe(24), R=6, aes=True, allow=permissions))
    return out.getvalue()
