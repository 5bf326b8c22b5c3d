"""The `handout` command line: a thin layer that parses options and calls the pipeline."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer 0.29+ vendors click; earlier releases use the click package
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException, UsageError  # type: ignore[assignment]

from handout import __version__
from handout.errors import EXIT_FAILURE, HandoutError


class OneLineErrors(TyperGroup):
    """Every mistake a user can fix ends as one line on stderr and an exit code, never a traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except ClickException as exc:
            hint = ""
            if isinstance(exc, UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(exc.format_message() + hint, exc.exit_code)
        except HandoutError as exc:
            _fail(exc.message, exc.exit_code)
        except typer.Abort:
            _fail("aborted", EXIT_FAILURE)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, code: int) -> None:
    typer.echo(f"handout: error: {message}", err=True)
    sys.exit(code)


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


BrandOption = Annotated[
    Path | None,
    typer.Option("--brand", help="Brand folder (brand.toml, logo, optional templates/). Default: the built-in example clinic.", show_default=False),
]
TemplatesOption = Annotated[
    Path | None,
    typer.Option("--templates", help="Folder of templates that replace built-in ones of the same name.", show_default=False),
]
PaperOption = Annotated[Paper, typer.Option("--paper", help="Paper size.", case_sensitive=False)]
QrUrlOption = Annotated[
    str | None,
    typer.Option("--qr-url", help="Web address the QR code opens (http or https). Default: the brand's resources_url.", show_default=False),
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


@app.command()
def leaflet(
    brand: BrandOption = None,
    templates: TemplatesOption = None,
    paper: PaperOption = Paper.a4,
    qr_url: QrUrlOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PDF.")] = Path("leaflet.pdf"),
) -> None:
    """Render the walking and lower back pain leaflet as a branded PDF.

    Example: handout leaflet --brand my-clinic --paper letter -o waiting-room.pdf
    """
    from handout.brand import load_brand
    from handout.content import load_article
    from handout.leaflet import Renderer
    from handout.output import write_atomic

    renderer = Renderer(load_brand(brand), paper.value, _template_dirs(templates))
    pdf = renderer.leaflet(load_article(), qr_url)
    write_atomic(output, pdf)
    typer.echo(f"Wrote {output} ({len(pdf) // 1024} KB)")


@app.command("init-brand")
def init_brand(
    directory: Annotated[Path, typer.Argument(help="New folder for the clinic's brand.", show_default=False)],
) -> None:
    """Start a clinic brand: copy the example brand into DIRECTORY to edit.

    Example: handout init-brand my-clinic, then edit my-clinic/brand.toml
    """
    from handout.brand import init_brand as copy_brand

    copy_brand(directory)
    typer.echo(f"Created {directory}: edit {directory / 'brand.toml'} and replace the logo, then use --brand {directory}")


def _template_dirs(templates: Path | None) -> list[Path]:
    return [templates] if templates is not None else []


def main() -> None:
    """Console-script entry point."""
    app()
