"""The diary page code's own encoder (render/page_code.py) makes qrcode's very modules: every mode, mask, level and version it may meet."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
import qrcode
import qrcode.constants

from handout.diary.code import PageCode, plan_tag
from handout.diary.layout import QR_MASK, QR_VERSION
from handout.plan import PlanRequest
from handout.render.page_code import encode

LEVELS = (qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_M, qrcode.constants.ERROR_CORRECT_Q, qrcode.constants.ERROR_CORRECT_H)


def qrcodes_modules(data: bytes, version: int, level: int, mask: int) -> tuple[tuple[bool, ...], ...]:
    code = qrcode.QRCode(version=version, error_correction=level, border=0, mask_pattern=mask)
    code.add_data(data, optimize=0)
    code.make(fit=False)
    return tuple(tuple(bool(m) for m in row) for row in code.get_matrix())


def page_codes() -> list[str]:
    rng = random.Random(3)
    texts = []
    for paper in ("a4", "letter"):
        for large in (False, True):
            for _ in range(15):
                request = PlanRequest(rng.randint(1, 60), 90, rng.randint(1, 7), rng.randint(1, 26), dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(700)))
                tag = plan_tag(rng.choice(["Jane Doe", "Zoë Ångström", "Łukasz Żółć", "李小龙"]), dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(700)))
                texts.append(PageCode(paper, large, rng.randint(60, 200), request, tag, rng.randint(1, 9), rng.randint(3, 14)).text())
    return texts


def test_every_page_code_is_qrcodes_symbol() -> None:
    for text in page_codes():
        assert encode(text.encode("ascii"), QR_VERSION, qrcode.constants.ERROR_CORRECT_M, QR_MASK) == qrcodes_modules(text.encode("ascii"), QR_VERSION, qrcode.constants.ERROR_CORRECT_M, QR_MASK), text


@pytest.mark.parametrize("alphabet", [string.digits, string.ascii_uppercase + string.digits + " $%*+-./:", string.ascii_letters + string.digits + ":_~"], ids=["numeric", "alphanumeric", "bytes"])
def test_any_text_in_any_mode_mask_level_and_version_is_qrcodes_symbol(alphabet: str) -> None:
    rng = random.Random(alphabet)
    for version, level in ((1, LEVELS[0]), (3, LEVELS[1]), (3, LEVELS[3]), (5, LEVELS[2]), (7, LEVELS[1])):  # 5-Q: two block sizes; 7: version bits
        capacity = {1: 17, 3: 42, 5: 60, 7: 122}[version] // (2 if level == LEVELS[3] or version == 5 else 1)
        for mask in range(8):
            for length in (0, 1, 2, 3, rng.randint(4, capacity - 1), capacity):
                text = "".join(rng.choice(alphabet) for _ in range(length)).encode()
                assert encode(text, version, level, mask) == qrcodes_modules(text, version, level, mask), (version, level, mask, text)
