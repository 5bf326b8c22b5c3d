"""Writes furniture that pages repeat (a diary week's grid, its instructions, the footer) once per document, as a form each page places."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import xObjectName
from reportlab.pdfgen.canvas import Canvas

from handout.render.tagging import ARTIFACT_LAYOUT, artifact

Box = tuple[float, float, float, float]


@contextmanager
def reused_artifact(
    canvas: Canvas,
    prefix: str,
    box: Box,
    at: tuple[float, float] = (0, 0),
    opener: str = ARTIFACT_LAYOUT,
    reuse: bool = True,
    known: Hashable | None = None,
) -> Iterator[None]:
    """Draw the block's content as an artifact, written into the file once and placed with its origin at `at`.

    Each page's content is compressed on its own, so furniture drawn again on every page cost its bytes
    again on every page (a large-print 12-week plan's diary grids alone were 4 KB of its 58). What the
    block draws, in its own coordinates (its origin is `at`; `box` holds all of it), is the key: a page
    drawing the same operators in the same box places the form already written. Forms are named in the
    order the document first draws them, so identical inputs still write identical bytes. A form
    restores the graphics state it changes, so the canvas's idea of the state goes back to what it was
    before the block too. The block must not tag content (an artifact holds none: whatever it opens is
    folded into the artifact around it), nor begin a form of its own (make those first). `reuse` False
    draws the block in place, for furniture the caller knows the document repeats too seldom to pay
    for a form's own dictionary. `known`, when given, names what the block draws in this document (the same
    key, the same operators): `placed_again` places its form later without drawing it again.
    """
    if not reuse:
        with artifact(canvas, opener):
            if at == (0, 0):
                yield
            else:
                canvas.saveState()
                canvas.translate(*at)
                yield
                canvas.restoreState()
        return
    with artifact(canvas, opener):
        code, forms = canvas._code, canvas._formsinuse
        canvas.push_state_stack()
        canvas._code, canvas._formsinuse = [], []
        try:
            yield
            drawn, used = canvas._code, canvas._formsinuse
        finally:
            canvas._code, canvas._formsinuse = code, forms
            canvas.pop_state_stack()
        if drawn:
            name = _place(canvas, prefix, box, "\n".join(drawn), used, at)
            if known is not None:
                _known_of(canvas._doc)[known] = name


def placed_again(canvas: Canvas, known: Hashable, at: tuple[float, float] = (0, 0), opener: str = ARTIFACT_LAYOUT) -> bool:
    """Place the form a block `known` by this key drew earlier in this document (reused_artifact), as it would place
    it, and say True; False, writing nothing, when there is none yet. What the block would draw is not drawn again."""
    name = _known_of(canvas._doc).get(known)
    if name is None:
        return False
    with artifact(canvas, opener):
        _do(canvas, name, at)
    return True


def place_drawn(
    canvas: Canvas, prefix: str, box: Box, content: str, used: Sequence[str], at: tuple[float, float] = (0, 0), opener: str = ARTIFACT_LAYOUT, reuse: bool = True
) -> None:
    """What `reused_artifact` writes for a block that drew `content` (its operators, one a line) placing the forms `used`,
    without drawing it: furniture whose operators are kept (diary_kept.py) is placed, or written in place, as they are.
    The block leaves the canvas's graphics state as it found it."""
    with artifact(canvas, opener):
        if reuse:
            _place(canvas, prefix, box, content, used, at)
        elif at == (0, 0):
            canvas._code.append(content)
            canvas._formsinuse.extend(used)
        else:  # what saveState, translate and restoreState write around it
            canvas._code += ("q", f"{fp_str(1, 0, 0, 1, *at)} cm", content, "Q")
            canvas._formsinuse.extend(used)


def _place(canvas: Canvas, prefix: str, box: Box, content: str, used: Sequence[str], at: tuple[float, float]) -> str:
    """Place the document's form of `content` in `box` at `at`, writing it first if this document has none yet."""
    named = _forms_of(canvas._doc)
    name = named.get((box, content))
    if name is None:
        name = named[box, content] = f"{prefix}{len(named)}"  # short: each page names the forms it places
        canvas.beginForm(name, *box)
        canvas._code.append(content)
        canvas._formsinuse.extend(used)
        canvas.endForm()
    _do(canvas, name, at)
    return name


def _do(canvas: Canvas, name: str, at: tuple[float, float]) -> None:
    """Place the form with its origin at `at`: the operators saveState, translate, doForm and restoreState write, without
    copying the canvas's state twice (a plan places some thirty forms)."""
    if at == (0, 0):
        canvas.doForm(name)
    else:
        canvas._code += ("q", f"{fp_str(1, 0, 0, 1, *at)} cm", f"/{xObjectName(name)} Do", "Q")
        canvas._formsinuse.append(name)


def _forms_of(doc: Any) -> dict[tuple[Box, str], str]:
    """The document's forms made here, by their box and operators (the memo lives and ends with the document)."""
    try:
        return doc._handout_reused  # type: ignore[no-any-return]
    except AttributeError:
        doc._handout_reused = {}
        return doc._handout_reused  # type: ignore[no-any-return]


def _known_of(doc: Any) -> dict[Hashable, str]:
    """The document's forms by what their blocks were known as (reused_artifact's `known`); it lives and ends with the document."""
    try:
        return doc._handout_known  # type: ignore[no-any-return]
    except AttributeError:
        doc._handout_known = {}
        return doc._handout_known  # type: ignore[no-any-return]
