"""`handout check`'s reading level: the words a patient reads, measured against the grade for their language."""

from __future__ import annotations

import re
from collections.abc import Sequence

from handout import document as doc
from handout.brand import Brand
from handout.preflight_report import CheckResult

# Reading level. guidance.md (NIH; Krames and Elsevier measure with Flesch–Kincaid): patient
# material reads at US grade 8 or below. Spanish has its own formula: Szigriszt-Pazos, read on
# the INFLESZ scale (55–65 "normal", 65–80 "bastante fácil"); 60, the middle of "normal", is the
# counterpart of grade 8. The project's own Spanish is held to 65 by its tests.
MAX_GRADE = 8.0
MIN_SPANISH_EASE = 60.0
HARD_SENTENCE_WORDS = 8  # shorter sentences swing the formulas too much to name as "the hardest"

# An address is typed or scanned, not read as words: it would count as one very long word.
_ADDRESS = re.compile(r"\S*(?://|@|www\.|[A-Za-z0-9]\.[A-Za-z]{2,}\b)\S*")


def document_texts(document: doc.Document) -> list[str]:
    """The words of a document's blocks in reading order. Tables are left out: their cells are
    names, dates and numbers (the patient's name among them), not sentences."""
    texts: list[str] = []

    def walk(blocks: Sequence[doc.Block]) -> None:
        for block in blocks:
            if isinstance(block, doc.Title):
                texts.extend((doc.plain_text(block.text), doc.plain_text(block.subtitle)))
            elif isinstance(block, doc.Heading | doc.Paragraph):
                texts.append(doc.plain_text(block.text))
            elif isinstance(block, doc.BulletList):
                texts.extend(doc.plain_text(item) for item in block.items)
            elif isinstance(block, doc.Panel):
                texts.append(block.label)
                walk(block.children)
            elif isinstance(block, doc.QRCode | doc.Keep):
                walk(block.children)

    walk(document.blocks)
    return texts


def email_texts(text: str, brand: Brand) -> list[str]:
    """The email's lines less its signature (the clinic's name, address and website, printed as brand.toml has them)."""
    signature = {brand.name, brand.website, brand.email, *(line.strip() for line in brand.address.splitlines())}
    return [line for line in text.splitlines() if line.strip() and line.strip() not in signature]


def readable_text(texts: Sequence[str], brand: Brand) -> str:
    """Fragments as one text to measure: addresses out, the clinic's name as "our clinic" (a name is not the
    template's choice of words), and a full stop after a heading or list item, as a reader pauses there."""
    sentences: list[str] = []
    for text in texts:
        text = " ".join(_ADDRESS.sub("", text.replace(brand.name, "our clinic")).split())
        if text:
            sentences.append(text if text.endswith((".", "!", "?", ":", "…")) else text + ".")
    return " ".join(sentences)


def reading_level(name: str, text: str, language: str, where: str = "") -> CheckResult:
    """Flesch–Kincaid grade ≤ 8 for English, Szigriszt-Pazos ≥ 60 for Spanish; `where` names the file to change."""
    if not text.strip():
        return CheckResult(name, True, "no sentences to measure", measured=False)
    if language not in ("en", "es"):
        return CheckResult(name, True, f"not measured: handout has no reading-level formula for '{language}'", measured=False)
    import textstat  # here: only `handout check` needs it, and importing it takes half a second

    # textstat.set_lang is process-wide: put back whatever was set before.
    previous = getattr(textstat.textstat, "_textstatistics__lang", "en_US")
    textstat.set_lang("es" if language == "es" else "en_US")
    try:
        # `ease` is higher for easier text, in both languages: the hardest sentence is its minimum.
        if language == "es":
            ease, score = textstat.szigriszt_pazos, textstat.szigriszt_pazos(text)
            passed, detail = score >= MIN_SPANISH_EASE, f"Szigriszt-Pazos reading ease {score:.1f} (≥ {MIN_SPANISH_EASE:g})"
        else:
            ease, score = (lambda t: -textstat.flesch_kincaid_grade(t)), textstat.flesch_kincaid_grade(text)
            passed, detail = score <= MAX_GRADE, f"Flesch–Kincaid grade {score:.1f} (≤ {MAX_GRADE:g})"
        fix = ""
        if not passed:
            long_ones = [s for s in re.split(r"(?<=[.?!:…])\s+", text) if len(s.split()) >= HARD_SENTENCE_WORDS]
            example = f"; the hardest sentence: \u201c{_shortened(min(long_ones, key=ease))}\u201d" if long_ones else ""
            fix = f"{name}: use shorter sentences and everyday words{f' in {where}' if where else ''}{example}"
    finally:
        textstat.set_lang(previous)
    return CheckResult(name, passed, detail, fix)


def _shortened(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
