"""Plans, leaflets and emails in every built-in language, read back as a patient would meet them (issue 8, languages)."""

from __future__ import annotations

import email
import email.policy
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
import textstat
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from typer.testing import CliRunner

from handout.brand import EXAMPLE_DISCLAIMER, LOGO_DESCRIPTION
from handout.cli import app
from handout.content import load_article
from handout.i18n import available_languages, catalog_path
from handout.mail import SUBJECT
from handout.pipeline import PLAN_TITLE
from handout.render.pdf import PAGE_LABEL
from handout.resources import templates_dir

from helpers import all_text, body_text, normalise

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
TRANSLATED = [language for language in available_languages() if language != "en"]
PYTHON_MESSAGES = (PLAN_TITLE, PAGE_LABEL, SUBJECT, EXAMPLE_DISCLAIMER, LOGO_DESCRIPTION)  # the words handout's code writes, outside the templates
_PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def template_messages() -> dict[str, tuple[str, ...]]:
    """Every message in the built-in templates (msgid → its plural too), as Babel's Jinja extractor finds them."""
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted(templates_dir().rglob("*.j2")):
        with path.open("rb") as handle:
            for _line, _function, message, _comments in babel_extract(
                handle, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
            ):
                forms = tuple(m for m in message if m) if isinstance(message, tuple) else (message,)
                found[forms[0]] = forms
    return found


def english_fragments() -> list[str]:
    """Pieces of the English messages (between placeholders and tags) long enough to be sentences, not shared words."""
    pieces: list[str] = []
    for forms in template_messages().values():
        for text in forms:
            for piece in re.split(r"%\(\w+\)s|<[^>]+>", text):
                piece = piece.strip(" .,:")
                if len(piece.split()) >= 2 and len(piece) >= 10:
                    pieces.append(piece)
    return pieces


def pdf_of(result_output: str, path: Path) -> bytes:
    assert path.is_file(), result_output
    return path.read_bytes()


def make(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> bytes:
    out = tmp_path / "out.pdf"
    result = runner.invoke(app, [*args, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def assert_no_english(text: str) -> None:
    leftovers = [piece for piece in english_fragments() if piece in text]
    assert not leftovers, leftovers
    assert not re.search(r"\bPage \d+ of \d+", text)


def assert_article_word_for_word(text: str, language: str) -> None:
    for part in load_article(language=language).sentences_source():
        assert normalise(part) in text, part


# --- The message catalogs ---------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation(language: str) -> None:
    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    wanted = {**template_messages(), **{m: (m,) for m in PYTHON_MESSAGES}}
    missing, fuzzy, placeholders = [], [], []
    for msgid, forms in wanted.items():
        entry = catalog.get(msgid)
        strings = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or not all(strings):
            missing.append(msgid)
        elif entry.fuzzy:
            fuzzy.append(msgid)
        elif any(sorted(_PLACEHOLDER.findall(s)) != sorted(_PLACEHOLDER.findall(forms[-1])) for s in strings):
            placeholders.append(msgid)
    unused = sorted(str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in wanted)
    assert not missing, f"no {language} translation for: {missing}"
    assert not fuzzy, f"fuzzy (unreviewed) {language} translations: {fuzzy}"
    assert not placeholders, f"{language} translations with other placeholders than the English: {placeholders}"
    assert not unused, f"{language} catalog translates messages nothing uses any more: {unused}"


def test_languages_are_the_ones_with_an_article_and_a_catalog() -> None:
    assert available_languages() == ("en", "es")


def test_a_third_language_is_only_files(tmp_path: Path) -> None:
    # A copy of handout beside its templates, plus a French article and catalog: no code changes.
    for folder in ("handout", "templates", "assets"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    articles, locale = tmp_path / "templates" / "articles", tmp_path / "templates" / "locale"
    spanish = (articles / "walking-lower-back-pain.es.toml").read_text(encoding="utf-8")
    (articles / "walking-lower-back-pain.fr.toml").write_text(
        spanish.replace('language = "es"', 'language = "fr"').replace("¿Es caminar", "La marche est-elle"), encoding="utf-8"
    )
    (locale / "fr" / "LC_MESSAGES").mkdir(parents=True)
    catalog = (locale / "es" / "LC_MESSAGES" / "handout.po").read_text(encoding="utf-8")
    (locale / "fr" / "LC_MESSAGES" / "handout.po").write_text(
        catalog.replace("Language: es", "Language: fr").replace('"Más información"', '"En savoir plus"'), encoding="utf-8"
    )
    run = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); from handout.cli import main; main()", str(tmp_path)]
    made = subprocess.run([*run, "leaflet", "--lang", "fr", "-o", str(tmp_path / "fr.pdf")], capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    pdf = (tmp_path / "fr.pdf").read_bytes()
    assert pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "fr"
    assert "En savoir plus" in all_text(pdf) and "La marche est-elle" in all_text(pdf)
    unknown = subprocess.run([*run, "leaflet", "--lang", "de"], capture_output=True, text=True, cwd=tmp_path)
    assert unknown.returncode == 2 and "available: en, es, fr" in unknown.stderr


# --- What the patient reads ---------------------------------------------------


def test_spanish_leaflet(tmp_path: Path) -> None:
    pdf = make(tmp_path, "leaflet", "--lang", "es")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = all_text(pdf)
    assert_article_word_for_word(body_text(pdf), "es")
    assert_no_english(text)
    assert reader.trailer["/Root"]["/Lang"] == "es"
    assert reader.metadata.title == "¿Es caminar el mejor ejercicio para el dolor lumbar?"
    assert reader.metadata.subject == "Información para pacientes de Example Physiotherapy Clinic"
    assert "DEJE DE CAMINAR Y CONSULTE" in text and "Más información" in text and "¿Tiene preguntas? Llámenos al 01632 960 123." in text
    assert re.search(r"Página 1 de \d", text)


def test_spanish_plan(tmp_path: Path) -> None:
    pdf = make(tmp_path, "plan", "--patient", "Ana Núñez", "--lang", "es", "--start-date", "2026-12-07", "--with-article")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = all_text(pdf)
    assert_article_word_for_word(body_text(pdf), "es")
    assert_no_english(text)
    assert reader.trailer["/Root"]["/Lang"] == "es"
    assert (reader.metadata.title, reader.metadata.subject) == ("Su plan para caminar", "Plan para caminar de Example Physiotherapy Clinic")
    assert reader.metadata["/Keywords"] == "plan para caminar, diario de paseos, dolor lumbar"
    for words in (
        "Ana Núñez",
        "Fecha de inicio 7 de diciembre de 2026",  # Babel's long date in Spanish
        "Esta semana, camine 10 minutos, 5 días a la semana.",
        "Cada semana, camine unos 2 minutos más, hasta llegar a 30 minutos.",
        "En un mal día:",
        "Fechas Minutos por paseo Paseos Total de la semana",
        "Semana 1: 7–13 dic 2026. Meta: 5 paseos de 10 minutos",  # the plan runs into 2027
        "Día ¿Caminó? Dolor Minutos Pasos Notas",
        "lun 7 mar 8 mié 9 jue 10 vie 11 sáb 12 dom 13",
        "Página 1 de ",
    ):
        assert words in text, words


def test_spanish_singular_forms(tmp_path: Path) -> None:
    args = ("--start-minutes", "1", "--target-minutes", "1", "--walks-per-week", "1", "--weeks", "1", "--start-date", "2027-01-04")
    text = all_text(make(tmp_path, "plan", "--patient", "Ana", "--lang", "es", *args))
    assert "Esta semana, camine 1 minuto, 1 día a la semana." in text
    assert "Meta: 1 paseo de 1 minuto" in text and "lun 4" in text
    assert "Este plan es para una semana." in text and "Mantenga este tiempo cada semana." not in text


def test_spanish_email_in_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    env = {"HANDOUT_MAIL_FROM": "plans@example.org", "HANDOUT_PDF_PASSWORD": "a long enough passphrase 7"}
    for extra in ((), ("--encrypt",)):
        args = ["plan", "--patient", "Ana", "--lang", "es", "--email", "ana@example.org", "--consent", "--outbox", str(outbox), *extra]
        result = runner.invoke(app, [*args, "-o", str(tmp_path / "p.pdf")], env=env)
        assert result.exit_code == 0, result.output
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(outbox.glob("*.eml"))]
    assert len(messages) == 2
    bodies = []
    for message in messages:
        assert message["Subject"] == "Su plan para caminar de Example Physiotherapy Clinic"
        plain, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
        assert plain.startswith("Hola:\n\nLe enviamos su plan para caminar")
        assert '<html lang="es">' in html and "<title>Su plan para caminar</title>" in html
        assert "llámenos al <strong>01632 960 123</strong>" in html
        assert_no_english(normalise(plain) + normalise(html))
        bodies.append(plain)
    assert sum("Se la daremos en persona o por teléfono." in body for body in bodies) == 1  # the locked file's email only


def test_a_batch_gives_each_row_its_language(tmp_path: Path) -> None:
    patients = tmp_path / "patients.csv"
    patients.write_text(
        "patient_id,name,email,consent_email,language\n"
        "P1,Ana,ana@example.org,yes,es\n"
        "P2,John,john@example.org,yes,en\n"
        "P3,Luis,luis@example.org,yes,\n"
        "P4,Marie,marie@example.org,yes,fr\n"
        "P5,Eva,,,ES\n",
        encoding="utf-8",
    )
    out = tmp_path / "plans"
    result = runner.invoke(app, ["batch", str(patients), "--out-dir", str(out), "--lang", "es", "--workers", "2"], env={"HANDOUT_MAIL_FROM": "plans@example.org"})
    assert result.exit_code == 1, result.output  # P4 fails
    assert "row 5 (patient_id P4): language must be one of: en, es" in result.output
    expected = {"P1": "es", "P2": "en-GB", "P3": "es", "P5": "es"}
    for key, lang in expected.items():
        pdf = (out / f"{key}.pdf").read_bytes()
        assert pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == lang, key
        assert ("Su diario de paseos" in all_text(pdf)) == (lang == "es"), key
    assert not (out / "P4.pdf").exists()
    subjects = {
        p.name.split("-")[0]: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"] for p in (out / "outbox").glob("*.eml")
    }
    assert subjects == {
        "P1": "Su plan para caminar de Example Physiotherapy Clinic",
        "P2": "Your walking plan from Example Physiotherapy Clinic",
        "P3": "Su plan para caminar de Example Physiotherapy Clinic",
    }


def test_a_changed_language_is_a_new_plan(tmp_path: Path) -> None:
    from handout.patients import read_patient_list

    patients = tmp_path / "patients.csv"
    patients.write_text("patient_id,name,language\nP1,Ana,\nP2,Ana,en\nP3,Ana,es\n", encoding="utf-8")
    import datetime as dt

    rows = read_patient_list(patients, dt.date(2026, 12, 1)).rows
    by_id = {row.patient_id: row for row in rows}
    assert by_id["P1"].language == by_id["P2"].language == "en"
    assert by_id["P3"].language == "es"
    assert by_id["P3"].fingerprint != by_id["P2"].fingerprint


@pytest.mark.parametrize("command", [["leaflet"], ["plan", "--patient", "Ana"], ["batch", "patients.csv"]])
def test_an_unknown_language_is_one_line_listing_the_languages(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--lang", "klingon", "-o" if command[0] != "batch" else "--out-dir", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["handout: error: --lang: no language 'klingon' (available: en, es)"]
    assert not (tmp_path / "x").exists()


def test_a_clinic_template_translates_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "leaflet.xml.j2").write_text(
        '{% extends "builtin/leaflet.xml.j2" %}{% block resources %}'
        "<p>{% trans %}Find out more{% endtrans %} / {{ _('Walks') }} / {{ ngettext('%(count)s day', '%(count)s days', 3) | format(count=3) }}</p>{% endblock %}",
        encoding="utf-8",
    )
    spanish = all_text(make(tmp_path, "leaflet", "--templates", str(tmp_path), "--lang", "es"))
    english = all_text(make(tmp_path, "leaflet", "--templates", str(tmp_path)))
    assert "Más información / Paseos / 3 días" in spanish
    assert "Find out more / Walks / 3 days" in english
    (tmp_path / "leaflet.xml.j2").write_text('<document title="t" lang="en"><p>{{ _.__globals__ }}</p></document>', encoding="utf-8")
    result = runner.invoke(app, ["leaflet", "--templates", str(tmp_path), "-o", str(tmp_path / "bad.pdf")])
    assert result.exit_code == 1 and "__globals__" in result.output and len(result.output.strip().splitlines()) == 1


# --- Reading ease -----------------------------------------------------------------


def spanish_reading_ease(text: str) -> tuple[float, float]:
    textstat.set_lang("es")
    try:
        return textstat.szigriszt_pazos(text), textstat.fernandez_huerta(text)
    finally:
        textstat.set_lang("en")


def test_the_spanish_plan_and_email_read_easily(tmp_path: Path) -> None:
    import datetime as dt

    from handout import document as doc
    from handout.brand import load_brand
    from handout.pipeline import Patient, Renderer
    from handout.plan import PlanRequest, build_plan

    renderer = Renderer(load_brand())
    plan = renderer.plan_document(Patient("Ana"), build_plan(PlanRequest(start_date=dt.date(2026, 12, 7))), load_article(language="es"), dt.date(2026, 12, 1))
    sentences: list[str] = []

    def collect(blocks: tuple[doc.Block, ...]) -> None:
        for block in blocks:
            if isinstance(block, doc.Paragraph):
                sentences.append(doc.plain_text(block.text))
            elif isinstance(block, doc.BulletList):
                sentences.extend(doc.plain_text(item) + "." for item in block.items)
            elif isinstance(block, doc.Panel | doc.QRCode | doc.Keep):
                collect(block.children)

    collect(plan.blocks)
    plan_text = normalise(" ".join(sentences))
    assert "Esta semana, camine" in plan_text
    outbox = tmp_path / "outbox"
    runner.invoke(app, ["plan", "--patient", "Ana", "--lang", "es", "--email", "a@example.org", "--consent", "--outbox", str(outbox), "-o", str(tmp_path / "p.pdf")], env={"HANDOUT_MAIL_FROM": "plans@example.org"})
    (message_file,) = outbox.glob("*.eml")
    mail = email.message_from_bytes(message_file.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    for text in (plan_text, normalise(mail)):
        szigriszt, fernandez = spanish_reading_ease(text)
        # INFLESZ 65–80 is "bastante fácil"; Fernández Huerta 70–80 is "fairly easy": patient material should be easy.
        assert szigriszt >= 65 or fernandez >= 70, (szigriszt, fernandez, text[:80])
