"""The `handout` command line: a thin layer that parses options and calls the pipeline."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import gc
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from handout import __version__
from handout.cli_values import PlainValues, PlainValuesCommand
from handout.errors import EXIT_FAILURE, HandoutError, UsageError
from handout.plan import DEFAULT_START_MINUTES, DEFAULT_TARGET_MINUTES, DEFAULT_WALKS_PER_WEEK, DEFAULT_WEEKS

try:  # typer 0.29+ vendors click; earlier releases use the click package
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[assignment,no-redef]
    from click.exceptions import UsageError as ClickUsageError  # type: ignore[assignment,no-redef]

# Typer's validation messages, in the words a clinic would use.
_PLAIN_WORDS = (
    ("Value error, ", ""),
    ("Input should be a valid integer, unable to parse string as an integer", "must be a whole number"),
    ("Input should be greater than or equal to", "must be at least"),
    ("Input should be less than or equal to", "must be at most"),
)



class OneLineErrors(PlainValues, TyperGroup):
    """Every mistake a user can fix ends as one line on stderr and an exit code, never a traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        except NoArgsIsHelpError as exc:
            typer.echo(exc.format_message())  # `handout` alone: the help, not an error message
            sys.exit(exc.exit_code)
        except ClickException as exc:
            hint = ""
            if isinstance(exc, ClickUsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            message = exc.format_message()
            for internal, plain in _PLAIN_WORDS:
                message = message.replace(internal, plain)
            _fail(message + hint, exc.exit_code)
        except HandoutError as exc:
            _fail(exc.message, exc.exit_code)
        except typer.Abort:
            _fail("aborted", EXIT_FAILURE)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as exc:  # a write to standard output failed (a full disk, ulimit -f): never a traceback
            _fail_to_write(exc)
        code = result if isinstance(result, int) else 0
        try:
            sys.stdout.flush()  # what is still buffered must be written now, where a failure can be reported
        except OSError as exc:
            _fail_to_write(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def _echo(message: str, err: bool) -> None:
    typer.echo(message, err=err)


def _fail(message: str, code: int) -> None:
    from handout.terminal import end_with_error

    end_with_error(message, code, _echo)


def _fail_to_write(exc: OSError) -> None:
    from handout.terminal import end_with_write_error

    end_with_write_error(exc, _echo)


app = typer.Typer(
    cls=OneLineErrors,
    help="Print-ready, clinic-branded patient leaflets and walking plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Paper(str, Enum):
    """Paper sizes a clinic printer takes."""

    a4 = "a4"
    letter = "letter"


class Layout(str, Enum):
    """How the leaflet sits on the paper."""

    standard = "standard"
    trifold = "trifold"


BrandOption = Annotated[
    Path | None,
    typer.Option("--brand", help="Brand folder (brand.toml, logo, optional templates/). Default: the built-in example clinic.", show_default=False, metavar="DIRECTORY"),
]
TemplatesOption = Annotated[
    Path | None,
    typer.Option("--templates", help="Folder of templates that replace built-in ones of the same name.", show_default=False, metavar="DIRECTORY"),
]
PaperOption = Annotated[Paper, typer.Option("--paper", help="Paper size.", case_sensitive=False)]
QrUrlOption = Annotated[
    str | None,
    typer.Option("--qr-url", help="Web address the QR code opens (http or https). Default: the brand's resources_url.", show_default=False),
]
LargePrintOption = Annotated[
    bool,
    typer.Option("--large-print", help="Large print: 18 pt text, 22 pt headings, 7:1 contrast; more pages, nothing left out."),
]
LangOption = Annotated[
    str,
    typer.Option("--lang", help="Language of the document and email: a code such as en or es (the languages whose files are installed)."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"handout {__version__}")
        raise typer.Exit()


@app.callback()
def handout(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Print-ready, clinic-branded patient leaflets and walking plans."""


@app.command(cls=PlainValuesCommand)
def leaflet(
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
    qr_url: QrUrlOption = None,
    lang: LangOption = "en",
    large_print: LargePrintOption = False,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="standard: portrait pages. trifold: one landscape sheet, both sides, folded in three; print it two-sided, flip on short edge, at actual size.",
            case_sensitive=False,
        ),
    ] = Layout.standard,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PDF.")] = Path("leaflet.pdf"),
) -> None:
    """Render the walking and lower back pain leaflet as a branded PDF.

    A tri-fold (--layout trifold) is one landscape sheet: print it on both
    sides with "flip on short edge" at actual size (not "fit to page"), then
    fold it along the grey ticks, the right-hand inside panel first.

    \b
    Examples:
      handout leaflet
      handout leaflet --brand my-clinic --paper letter -o waiting-room.pdf
      handout leaflet --lang es -o folleto.pdf
      handout leaflet --large-print -o leaflet-large-print.pdf
      handout leaflet --layout trifold -o trifold.pdf
    """
    from handout.leaflet_command import make_leaflet  # shared with the quick reading of plain command lines (handout/__main__.py)

    make_leaflet(brand, templates, paper.value, qr_url, lang, large_print, layout.value, output, say=lambda message, err: typer.echo(message, err=err))


@app.command("init-brand", cls=PlainValuesCommand)
def init_brand(
    directory: Annotated[Path, typer.Argument(help="New folder for the clinic's brand.", show_default=False, metavar="DIRECTORY")],
) -> None:
    """Start a clinic brand: copy the example brand into DIRECTORY to edit.

    \b
    Example:
      handout init-brand my-clinic     (then edit my-clinic/brand.toml)
    """
    from handout.brand import init_brand as copy_brand

    copy_brand(directory)
    typer.echo(f"Created {directory}: edit {directory / 'brand.toml'} and replace the logo, then use --brand {directory}")




@app.command(cls=PlainValuesCommand)
def plan(
    patient: Annotated[str, typer.Option("--patient", help="The patient's name, printed on the plan only.", show_default=False)],
    clinician: Annotated[str, typer.Option("--clinician", help="Your name, printed on the plan.", show_default=False)] = "",
    start_minutes: Annotated[int, typer.Option("--start-minutes", help="Minutes per walk in week 1 (1–60).")] = DEFAULT_START_MINUTES,
    target_minutes: Annotated[
        int | None,
        typer.Option("--target-minutes", help=f"Minutes per walk to build up to (start–90). Default: {DEFAULT_TARGET_MINUTES}, or the start if higher.", show_default=False),
    ] = None,
    walks_per_week: Annotated[int, typer.Option("--walks-per-week", help="Walks each week (1–7).")] = DEFAULT_WALKS_PER_WEEK,
    weeks: Annotated[int, typer.Option("--weeks", help="Length of the plan and diary in weeks (1–26).")] = DEFAULT_WEEKS,
    start_date: Annotated[str | None, typer.Option("--start-date", help="First day of week 1, YYYY-MM-DD. Default: today.", show_default=False)] = None,
    with_article: Annotated[bool, typer.Option("--with-article", help="Add the walking article after the diary.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the schedule as JSON instead of writing a PDF.")] = False,
    email: Annotated[str | None, typer.Option("--email", help="Email the plan to this address (SMTP settings from HANDOUT_SMTP_* variables).", show_default=False)] = None,
    consent: Annotated[bool, typer.Option("--consent", help="The patient agreed to get the plan by unencrypted email.")] = False,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Lock the PDF with a password (AES-256), from HANDOUT_PDF_PASSWORD or asked for.")] = False,
    outbox: Annotated[Path | None, typer.Option("--outbox", help="Write the email as an .eml file in this folder instead of sending it.", show_default=False)] = None,
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
    qr_url: QrUrlOption = None,
    lang: LangOption = "en",
    large_print: LargePrintOption = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the PDF (- for standard output). Default: walking-plan.pdf.", show_default=False)] = None,
    diary_map: Annotated[Path | None, typer.Option("--diary-map", help="Also write where every mark of the diary is (JSON, PDF points), for testing and other tools.", show_default=False)] = None,
    continue_from: Annotated[Path | None, typer.Option("--continue-from", help="Start from what the patient managed: the JSON `handout read-diary --json` wrote.", show_default=False)] = None,
) -> None:
    """Make a patient's week-by-week walking plan with a printable diary.

    \b
    Examples:
      handout plan --patient "Jane Doe"
      handout plan --patient "Jane Doe" --clinician "Sam Lee" --start-minutes 5 --weeks 8
      handout plan --patient "Jane Doe" --email jane@example.org --consent
      handout plan --patient "Ana García" --lang es
      handout plan --patient "Jane Doe" --large-print
    """
    import json
    import os

    from handout import checks
    from handout.plan import plan_as_json
    from handout.service import PlanForm, check_plan_form

    if json_output and output is not None:
        raise UsageError("--json prints the schedule on standard output, not to a file; leave out -o (to keep it: > plan.json)")
    if json_output and (email or encrypt or outbox or consent):
        raise UsageError("--json only prints the schedule; leave out --email, --consent, --encrypt and --outbox")
    if (consent or outbox) and not email:
        raise UsageError("--consent and --outbox go with --email ADDRESS")
    continued = None
    if continue_from is not None:
        from handout.diary.continuation import load_continuation

        # The diary sets where the plan starts; the clinician's own --target-minutes and --walks-per-week still win.
        continued = load_continuation(continue_from)
        start_minutes = continued.start_minutes
        target_minutes = target_minutes if target_minutes is not None else continued.target_minutes
        walks_per_week = continued.walks_per_week if walks_per_week == DEFAULT_WALKS_PER_WEEK else walks_per_week
    form = PlanForm(
        patient=patient,
        clinician=clinician,
        start_minutes=str(start_minutes),
        target_minutes="" if target_minutes is None else str(target_minutes),
        walks_per_week=str(walks_per_week),
        weeks=str(weeks),
        start_date=start_date or "",
        language=lang,
        large_print=large_print,
        with_article=with_article,
        qr_url=qr_url or "",
        email=email or "",
        consent=consent,
        encrypt=encrypt,  # the password is read (or asked for) once everything else is right
    )
    order = check_plan_form(form, dt.date.today())
    if json_output:
        from handout.terminal import writes_any_character

        # \u escapes where the terminal cannot show a letter: the JSON stays exact (a look-alike would change the name).
        typer.echo(json.dumps(plan_as_json(order.schedule, order.patient.name), ensure_ascii=not writes_any_character(sys.stdout), indent=2))
        return
    if encrypt:
        order = dataclasses.replace(order, password=checks.pdf_password())
    output = output if output is not None else Path("walking-plan.pdf")

    from handout.output import is_standard_output, write_output
    from handout.service import Clinic

    clinic = Clinic(brand, _template_dirs(templates), paper.value)
    mailer = clinic.mailer(os.environ, outbox) if order.email else None
    pdf, diary_pages = clinic.plan_with_diary(order, dt.date.today(), continued)
    if diary_map is not None:
        from handout.diary.layout import diary_map_page

        write_output(diary_map, (json.dumps({"pages": [diary_map_page(page) for page in diary_pages]}, indent=1) + "\n").encode())
    where = write_output(output, pdf, private=True)  # the patient's name is in it
    # The path is the user's own choice; the patient's name is never echoed.
    # With `-o -` the PDF is on standard output, so every message goes to stderr.
    typer.echo(f"Wrote the walking plan to {where} ({len(pdf) // 1024} KB)", err=is_standard_output(output))
    note = clinic.brand_note("plan", order.language, order.large_print, order=order, made=None if order.password or continued else pdf)
    if note:
        typer.echo(note, err=True)
    if mailer is not None:
        typer.echo(clinic.email_plan(mailer, order, pdf), err=is_standard_output(output))


@app.command("read-diary", cls=PlainValuesCommand)
def read_diary(
    scans: Annotated[list[Path], typer.Argument(help="Scans of the diary pages: PDF, PNG, JPEG or TIFF, any order and way up.", show_default=False, metavar="SCAN...")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the progress report (PDF) here.", show_default=False)] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the days read as JSON here (- for standard output).", show_default=False)] = None,
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
) -> None:
    """Read a scanned paper diary back: each day's walk, minutes and pain, and what could not be read.

    \b
    Examples:
      handout read-diary diary-scan.pdf --json days.json -o report.pdf
      handout read-diary page1.jpg page2.jpg --json -
    """
    _collect_garbage_from_here()
    import json

    from handout.diary.reading import read_diary as read
    from handout.diary.summary import reading_json
    from handout.output import is_standard_output, write_output

    reading = read(scans)
    record = reading_json(reading)
    to_stdout = json_out is not None and is_standard_output(json_out)
    if json_out is not None:
        write_output(json_out, (json.dumps(record, ensure_ascii=False, indent=1) + "\n").encode())
    if output is not None:
        from handout.service import Clinic

        pdf = Clinic(brand, _template_dirs(templates), paper.value).diary_report(reading, dt.date.today())
        write_output(output, pdf)
    if not to_stdout:
        unclear = sum(len(d["unclear"]) for d in record["days"])  # type: ignore[union-attr]
        pages = ", ".join(str(p) for p in record["pages"])  # type: ignore[union-attr]
        typer.echo(f"Read {len(reading.pages)} diary page(s) (plan pages {pages}): {len(reading.days)} days, {unclear} unclear mark(s), {len(reading.skipped)} page(s) skipped")


@app.command(cls=PlainValuesCommand)
def batch(
    patients_csv: Annotated[Path, typer.Argument(help="The patient list: CSV with a header row and at least a name column.", show_default=False, metavar="PATIENTS_CSV")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the plans, the to-print files and report.txt.", metavar="DIRECTORY")] = Path("plans"),
    workers: Annotated[int | None, typer.Option("--workers", help="Processes rendering at once. Default: one per core.", show_default=False, min=1, max=64)] = None,
    send: Annotated[bool, typer.Option("--send", help="Email plans for real (HANDOUT_SMTP_* variables). Without it, emails go to the outbox.")] = False,
    outbox: Annotated[
        Path | None, typer.Option("--outbox", help="Folder for .eml files instead of sending (not with --send). Default: outbox/ in the --out-dir folder.", show_default=False, metavar="DIRECTORY")
    ] = None,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="Lock each PDF with its row's pdf_password (AES-256).")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Render nothing if any row is bad.")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="Email again rows the journal says were already sent (or maybe sent).")] = False,
    resend_maybe: Annotated[
        bool, typer.Option("--resend-maybe-sent", help="Email again only the plans that may have arrived (the connection was lost after the handover).")
    ] = False,
    new_journal: Annotated[
        bool, typer.Option("--new-journal", help="The journal is lost or damaged: set it aside and treat every patient as not yet sent.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Folder of the journal of what was sent (shared with handout serve). Default: your user data folder.", show_default=False, metavar="DIRECTORY"
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="The CSV's text encoding (utf-8, cp1252, utf-16 ...). Default: detected.", show_default=False),
    ] = None,
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the plans and emails of rows whose 'language' cell is empty: a code such as en or es.")
    ] = "en",
    large_print: Annotated[bool, typer.Option("--large-print", help="Large print for rows whose 'large_print' cell is empty.")] = False,
) -> None:
    """Make walking plans for a whole patient list; email them, or list them to print.

    PATIENTS_CSV has a header row naming its columns, then one patient a row.

    \b
    Columns (only name is required; an empty cell means the default):
      name             the patient's name, printed on the plan
      patient_id       names the PDF (P0042.pdf): letters, digits, . _ -
      email            where to email the plan
      consent_email    yes/no: the patient agreed to unencrypted email
      clinician        printed on the plan
      start_minutes    target_minutes  walks_per_week  weeks  start_date
                       as the options of 'handout plan'
      pdf_password     with --encrypt: the password that opens this plan
      language         en, es ...: this patient's plan and email
      large_print      yes/no: this patient's plan in large print

    \b
    Examples:
      handout batch patients.csv                (plans in plans/, emails in plans/outbox/)
      handout batch patients.csv --send         (email for real: HANDOUT_SMTP_* variables)
    """
    _collect_garbage_from_here()
    import os

    from handout.batch import BatchOptions, run_batch
    from handout.checks import text_encoding
    from handout.i18n import checked_language
    from handout.report import ConsoleReporter, print_reasons, print_summary, write_report

    if (resend or resend_maybe) and not send:
        raise UsageError("--resend and --resend-maybe-sent go with --send")
    if send and outbox is not None:
        raise UsageError("--send emails the plans and --outbox writes them to files instead: use one or the other")
    csv_encoding = text_encoding("--encoding", encoding)
    language = checked_language("--lang", lang)
    options = BatchOptions(
        patients_csv=patients_csv,
        out_dir=out_dir,
        workers=workers or 0,
        send=send,
        outbox=outbox,
        encrypt=encrypt,
        brand_dir=brand,
        template_dirs=tuple(_template_dirs(templates)),
        paper=paper.value,
        strict=strict,
        resend=resend,
        resend_maybe=resend_maybe,
        data_dir=data_dir,
        new_journal=new_journal,
        encoding=csv_encoding,
        language=language,
        large_print=large_print,
    )
    reporter = ConsoleReporter()
    result = run_batch(options, os.environ, reporter)
    report = write_report(result, options, reporter.warn)  # before the summary: a closed terminal (SIGHUP) must not lose it
    try:
        print_summary(result, options)
        print_reasons(result, report)
    except OSError:
        if result.interrupted_by is None:
            raise
        # SIGHUP: the terminal is gone, and with it the summary's reader; the exit code still tells a script.
    if result.interrupted_by is not None:
        raise typer.Exit(128 + result.interrupted_by)  # as a shell reports a job stopped by that signal
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


@app.command(cls=PlainValuesCommand)
def check(
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    lang: LangOption = "en",
    paper: PaperOption = Paper.a4,
    large_print: LargePrintOption = False,
) -> None:
    """Check a brand and its templates before printing: reading level, contrast, type size, QR code, fonts, tagging.

    Renders the leaflet and a sample plan and prints PASS or FAIL with the numbers for each
    check, then what to fix. Exits 0 when everything passes, 1 otherwise.

    \b
    Examples:
      handout check
      handout check --brand my-clinic --templates my-templates
      handout check --brand my-clinic --lang es --large-print
    """
    _collect_garbage_from_here()
    from handout.i18n import checked_language
    from handout.preflight import run_checks

    report = run_checks(brand, _template_dirs(templates), checked_language("--lang", lang), paper.value, large_print)
    typer.echo(report.text())
    if not report.passed:
        raise typer.Exit(EXIT_FAILURE)


@app.command(cls=PlainValuesCommand)
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on. Anything but 127.0.0.1 needs HANDOUT_WEB_PASSWORD.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8400,
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Folder for the outbox and the patient lists' journal. Default: your user data folder.", show_default=False)] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    trusted_proxy: Annotated[
        str | None,
        typer.Option("--trusted-proxy", envvar="HANDOUT_WEB_TRUSTED_PROXY", help="IP address of the proxy in front (TLS); only its X-Forwarded-For and -Proto are believed.", show_default=False),
    ] = None,
) -> None:
    """Offer leaflets, plans and patient lists on a web page for the front desk, on this computer.

    \b
    Examples:
      handout serve --open
      handout serve --brand my-clinic --paper letter
    """
    _collect_garbage_from_here()
    from handout.web.server import run_server

    run_server(host, port, brand, _template_dirs(templates), paper.value, data_dir, open_browser, trusted_proxy)


def _collect_garbage_from_here() -> None:
    """For a command that runs long or reads big scans: collect cyclic garbage again, as usual, from here on.

    `handout` starts with the collector off (handout/__main__.py): everything made while starting
    lives as long as the process. That is frozen now, so later collections never look at it again.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        gc.enable()


def _template_dirs(templates: Path | None) -> list[Path]:
    return [templates] if templates is not None else []


def main() -> None:
    """Console-script entry point."""
    from handout.terminal import show_what_the_terminal_can

    show_what_the_terminal_can()
    _app_for(sys.argv[1:])()


def _app_for(args: list[str]) -> typer.Typer:
    """The command line to run: for `handout <command> …`, the app holding that command alone.

    Typer builds every command's options (type hints, defaults, help) before it runs one: about a
    twentieth of `handout leaflet`. A command named first is all the group can run, so the others
    are left unbuilt; anything else (options first, a mistyped name, help) gets the whole app.
    """
    if not args:
        return app
    chosen = [info for info in app.registered_commands if info.callback is not None and (info.name or typer.main.get_command_name(info.callback.__name__)) == args[0]]
    if len(chosen) != 1:
        return app
    alone = copy.copy(app)
    alone.registered_commands = chosen
    return alone
