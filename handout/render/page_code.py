"""A diary page's code as QR modules: qrcode's encoding (one segment in its own choice of mode, fixed version, level and mask), the symbol's layout worked out once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

Modules = tuple[tuple[bool, ...], ...]


@cache
def _symbol(version: int, error_correction: int, mask: int) -> tuple[tuple[bool | None, ...], tuple[int, ...], tuple[bool, ...], tuple[tuple[int, int], ...]]:
    """What does not depend on the text: the function patterns and format bits (None where data goes), row after
    row, the data modules' places in that run in the order qrcode fills them, the mask over each, and the Reed-Solomon blocks (total, data codewords).

    qrcode's own QRCode lays these out (makeImpl), with its data placement swapped for a recorder, so a change of
    qrcode's patterns would be taken along; tests/test_render_caches.py compares whole symbols with qrcode's.
    """
    import qrcode
    from qrcode import base, util

    positions: list[tuple[int, int]] = []

    class Recorder(qrcode.QRCode):  # type: ignore[misc]
        def map_data(self, data: Any, mask_pattern: Any) -> None:  # qrcode's traversal, recording where each bit goes
            inc, row, count = -1, self.modules_count - 1, self.modules_count
            for col in range(count - 1, 0, -2):
                if col <= 6:
                    col -= 1
                while True:
                    for c in (col, col - 1):
                        if self.modules[row][c] is None:
                            positions.append((row, c))
                    row += inc
                    if row < 0 or count <= row:
                        row -= inc
                        inc = -inc
                        break

    recorder = Recorder(version=version, error_correction=error_correction, border=0, mask_pattern=mask)
    recorder.data_cache = []  # no data: only the layout
    recorder.makeImpl(False, mask)
    template = tuple(None if module is None else bool(module) for row in recorder.modules for module in row)
    masked, side = util.mask_func(mask), recorder.modules_count
    blocks = tuple((block.total_count, block.data_count) for block in base.rs_blocks(version, error_correction))
    return template, tuple(r * side + c for r, c in positions), tuple(bool(masked(r, c)) for r, c in positions), blocks


@cache
def _generator(count: int) -> tuple[int, ...]:
    """The Reed-Solomon generator polynomial's coefficients for `count` error correction codewords, highest first, as logs."""
    from qrcode import LUT, base

    if count in LUT.rsPoly_LUT:  # as qrcode.util.create_bytes takes it
        poly = base.Polynomial(LUT.rsPoly_LUT[count], 0)
    else:
        poly = base.Polynomial([1], 0)
        for i in range(count):
            poly = poly * base.Polynomial([1, base.gexp(i)], 0)
    if len(poly) != count + 1 or poly[0] != 1:
        raise AssertionError("qrcode's generator polynomial is not monic of the expected degree")
    return tuple(base.glog(poly[i]) for i in range(1, len(poly)))


@cache
def _tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """qrcode's GF(256) tables, the powers written out twice so that a sum of two logs needs no modulo."""
    from qrcode.base import EXP_TABLE, LOG_TABLE

    return tuple(EXP_TABLE[i % 255] for i in range(512)), tuple(LOG_TABLE)


def _remainder(data: Sequence[int], count: int) -> list[int]:
    """The error correction codewords: `data` times x^count modulo the generator, as qrcode's Polynomial % works it out."""
    exp, log = _tables()
    generator = _generator(count)
    rest = [0] * count
    for value in data:
        factor = value ^ rest[0]
        if factor:
            shift = log[factor]
            rest = [r ^ exp[g + shift] for r, g in zip(rest[1:] + [0], generator)]
        else:
            rest = rest[1:] + [0]
    return rest


def _segment(data: bytes, version: int) -> str:
    """`data` as qrcode.util.QRData writes it, mode and length first, in the mode qrcode picks (util.optimal_mode)."""
    from qrcode import util

    mode = util.optimal_mode(data)
    head = f"{mode:04b}{len(data):0{util.length_in_bits(mode, version)}b}"
    if mode == util.MODE_NUMBER:
        return head + "".join(f"{int(data[i : i + 3]):0{util.NUMBER_LENGTH[len(data[i : i + 3])]}b}" for i in range(0, len(data), 3))
    if mode == util.MODE_ALPHA_NUM:
        index = util.ALPHA_NUM.find
        pairs = (data[i : i + 2] for i in range(0, len(data), 2))
        return head + "".join(f"{index(p[:1]) * 45 + index(p[1:]):011b}" if len(p) > 1 else f"{index(p):06b}" for p in pairs)
    return head + "".join(f"{byte:08b}" for byte in data)


def encode(data: bytes, version: int, error_correction: int, mask: int) -> Modules:
    """The modules qrcode makes of `data` (one add_data, optimize=0) at this version, level and mask, without a quiet zone, top row first."""
    template, positions, masks, blocks = _symbol(version, error_correction, mask)
    capacity = sum(data_count for _, data_count in blocks)
    bits = _segment(data, version)
    if len(bits) > capacity * 8:
        raise ValueError(f"{len(data)} bytes do not fit a version {version} code")
    bits += "0" * min(capacity * 8 - len(bits), 4)
    bits += "0" * (-len(bits) % 8)
    words = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
    words += [0xEC if i % 2 == 0 else 0x11 for i in range(capacity - len(words))]
    data_blocks, ec_blocks, offset = [], [], 0
    for total, data_count in blocks:
        block = words[offset : offset + data_count]
        offset += data_count
        data_blocks.append(block)
        ec_blocks.append(_remainder(block, total - data_count))
    stream = [block[i] for i in range(max(map(len, data_blocks))) for block in data_blocks if i < len(block)]
    stream += [block[i] for i in range(max(map(len, ec_blocks))) for block in ec_blocks if i < len(block)]
    modules = list(template)
    # Bits past the codewords (a version's remainder bits) are light before masking, as qrcode leaves them.
    stream_bits = "".join(f"{word:08b}" for word in stream).ljust(len(positions), "0")
    for place, flip, bit in zip(positions, masks, stream_bits, strict=True):
        modules[place] = (bit == "1") != flip
    side = 17 + 4 * version
    return tuple(tuple(modules[i : i + side]) for i in range(0, side * side, side))
