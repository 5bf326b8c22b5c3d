"""A PDF cross-reference stream's 7-byte rows stored as PNG "Up" differences and deflated, for both writers of handout's PDFs."""

from __future__ import annotations

import zlib


def up_predicted(table: bytes) -> bytes:
    """`table` (rows of 7 bytes: W [1 4 2]), each row stored as its difference from the row above, deflated.

    Packed objects' rows differ by one from each other, so they shrink to almost nothing. All rows are
    subtracted at once, as one long number of 7-byte rows less the same number shifted down a row, with
    no borrow between bytes (the high bit of each is set aside).
    """
    count = len(table) // 7
    rows = int.from_bytes(table, "big")
    above = rows >> 56  # each row's neighbour above in its place; the first row's is zero
    high = int.from_bytes(b"\x80" * 7 * count, "big")
    difference = ((rows | high) - (above & ~high)) ^ ((rows ^ ~above) & high)
    data = (difference & ((1 << 56 * count) - 1)).to_bytes(7 * count, "big")
    out = bytearray(8 * count)
    out[0::8] = b"\x02" * count  # each row's predictor: Up
    for column in range(7):
        out[1 + column :: 8] = data[column::7]
    return zlib.compress(bytes(out))
