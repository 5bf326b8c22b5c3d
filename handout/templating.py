"""Builds the Jinja2 environment: clinic templates first, then the built-in ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

from handout.errors import HandoutError
from handout.resources import templates_dir

BUILTIN_PREFIX = "builtin/"


def make_environment(override_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """A strict, autoescaping environment searching `override_dirs` in order, then the built-ins.

    A clinic template may `{% extends "builtin/leaflet.xml.j2" %}` and replace one block.
    """
    for folder in override_dirs:
        if not folder.is_dir():
            raise HandoutError(f"{folder}: templates folder not found")
    builtin = jinja2.FileSystemLoader(templates_dir())
    loader = jinja2.ChoiceLoader(
        [
            *(jinja2.FileSystemLoader(folder) for folder in override_dirs),
            jinja2.PrefixLoader({BUILTIN_PREFIX.rstrip("/"): builtin}),
            builtin,
        ]
    )
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        # Documents and HTML mail are markup: every value is escaped, so patient
        # text can never become markup or template code. Plain-text mail is not.
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml.j2", "html.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def environment_for(brand_templates: Path | None, template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """The environment for a clinic: --templates folders first, then the brand's templates/, then the built-ins."""
    return make_environment([*template_dirs, *([brand_templates] if brand_templates is not None else [])])


def compile_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load and compile a template, turning its mistakes into a one-line error naming the file."""
    try:
        return env.get_template(name)
    except Exception as exc:
        raise _template_error(name, exc) from None


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, object]) -> str:
    """Fill one template, turning template mistakes into a one-line error naming the file."""
    template = compile_template(env, name)
    try:
        return template.render(context)
    except Exception as exc:  # parents and includes load now, and filters run: all the template's mistakes
        raise _template_error(name, exc) from None


def _template_error(name: str, exc: Exception) -> HandoutError:
    """One line for any way a template can go wrong, naming the file and, where known, the line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return HandoutError(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return HandoutError(f"template {exc.name} not found")
    if isinstance(exc, jinja2.UndefinedError):
        return HandoutError(f"template {name}: {exc.message}")
    if isinstance(exc, jinja2.TemplateError):
        return HandoutError(f"template {name}: {exc}")
    if isinstance(exc, UnicodeDecodeError):
        return HandoutError(f"template {name}: not UTF-8 text; save it as UTF-8")
    if isinstance(exc, OSError):
        return HandoutError(f"template {name}: cannot be read ({exc.strerror})")
    # A filter given the wrong kind of value, say: the template's mistake, not a crash.
    return HandoutError(f"template {name} failed while being filled in ({type(exc).__name__}: {exc})")


def template_path(env: jinja2.Environment, name: str) -> str:
    """Which file a template name resolves to: the clinic's override or the built-in one."""
    try:
        return env.get_template(name).filename or name
    except jinja2.TemplateError:
        return name
