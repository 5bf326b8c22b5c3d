"""Builds the sandboxed Jinja2 environment (clinic templates first, then the built-in ones) and fills templates."""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.lexer import TOKEN_BLOCK_BEGIN, TOKEN_BLOCK_END, TOKEN_NAME, TOKEN_PIPE, TOKEN_RPAREN, Token, TokenStream
from jinja2.runtime import Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from handout import i18n, template_parts
from handout.errors import HandoutError
from handout.no_break import nowrap
from handout.resources import checked_template_folders, templates_dir
from handout.template_values import is_template_value, may_call, may_read

# (type, attribute) → whether reading that attribute of that type is allowed whenever its value is plain data:
# worked out once per pair (a plan reads a few hundred attributes of a dozen types), bounded so that a template
# making up attribute names (`x | attr(name ~ i)`) cannot grow it.
_PLAIN_ATTRIBUTES: dict[tuple[type, str], bool] = {}
_PLAIN_ATTRIBUTES_MAX = 4096

BUILTIN_PREFIX = "builtin/"

# Limits on what one template fill may do. The built-in 26-week plan takes about
# 400 steps and 60,000 characters; these leave a clinic's own templates ample room
# while a mistaken or hostile one stops in milliseconds instead of filling memory.
MAX_STEPS = 50_000  # loop iterations and calls (macros included), per fill
MAX_TEXT = 1_000_000  # characters in any one value a template builds
MAX_OUTPUT = 5_000_000  # characters a fill may print in all
MAX_COUNT = 100_000  # any number passed to a function or filter (widths, counts)
MAX_EXPONENT = 64
_HUGE_FORMAT_WIDTH = re.compile(r"(%[-+ #0]*\d{6,})|(%[-+ #0]*\d*\.\d{6,})|(\{[^{}]*:[^{}]*\d{6,}[^{}]*\})")
_LOOP_FILTER = "handout_bounded_loop"


class _Budget:
    """What one fill of a template has used so far."""

    def __init__(self) -> None:
        self.steps = 0
        self.output = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template runs more than {MAX_STEPS:,} loop steps or calls; simplify it")

    def printed(self, count: int) -> None:
        self.output += count
        if self.output > MAX_OUTPUT:
            raise SecurityError(f"the template prints more than {MAX_OUTPUT:,} characters; simplify it")


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("handout_template_budget")


def _current_budget() -> _Budget:
    # A fill through render_template has one budget; any other use still gets a bounded one per call.
    try:
        return _BUDGET.get()
    except LookupError:
        return _Budget()


def _checked_size(value: object) -> object:
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_TEXT:
        raise SecurityError(f"the template builds a value of more than {MAX_TEXT:,} characters or items")
    return value


def _checked_arguments(args: Iterable[object], kwargs: Mapping[str, object]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_COUNT:
            raise SecurityError(f"the number {value} is too large for a template (at most {MAX_COUNT:,})")
        if isinstance(value, str) and _HUGE_FORMAT_WIDTH.search(value):
            raise SecurityError("a format width in the template is too large")


def _checked_join(items: Iterable[Any], separator: str) -> list[Any]:
    """The items to join, as a list, once the joined text is known to fit the limit.

    Checked before joining: ["x" * 1000000] * 300 | join would fill 300 MB
    before any check of the result could run.
    """
    listed = items if isinstance(items, list) else list(items)
    total = sum(len(item) if isinstance(item, str) else len(str(item)) for item in listed) + len(separator) * max(0, len(listed) - 1)
    if total > MAX_TEXT:
        raise SecurityError(f"the template builds a value of more than {MAX_TEXT:,} characters or items")
    return listed


def _check_replace(text: Any, old: Any, new: Any) -> None:
    """Refuse, before it runs, a replace whose result would pass the limit."""
    if isinstance(text, str) and isinstance(old, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * max(0, len(str(new)) - len(old)) > MAX_TEXT:
            raise SecurityError(f"the template builds a value of more than {MAX_TEXT:,} characters or items")


def checked_concat(value: str) -> str:
    """The result of `a ~ b`: each part is already bounded, so checking the result bounds memory at twice the limit."""
    _checked_size(value)
    return value


class _CheckedConcat(CodeGenerator):
    """Compiles `a ~ b ~ c` so that its result passes the size check, like every other operator."""

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's name
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


def _bounded_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _current_budget()
    for item in iterable:
        budget.step()
        yield item


class _BoundedLoops(Extension):
    """Rewrites every `{% for x in ITER %}` as `{% for x in (ITER)|handout_bounded_loop %}`, so loops count steps."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = iter(stream)
        for token in tokens:
            yield token
            if token.type != TOKEN_BLOCK_BEGIN:
                continue
            keyword = next(tokens)
            yield keyword
            if keyword.type != TOKEN_NAME or keyword.value != "for":
                continue
            for token in tokens:  # the loop variables, up to `in`
                yield token
                if token.type == TOKEN_NAME and token.value == "in":
                    break
            yield Token(token.lineno, "lparen", "(")
            depth = 0
            for token in tokens:  # the iterable ends at a top-level `if`, `recursive` or the block's end
                if depth == 0 and (token.type == TOKEN_BLOCK_END or (token.type == TOKEN_NAME and token.value in ("if", "recursive"))):
                    yield Token(token.lineno, TOKEN_RPAREN, ")")
                    yield Token(token.lineno, TOKEN_PIPE, "|")
                    yield Token(token.lineno, TOKEN_NAME, _LOOP_FILTER)
                    yield token
                    break
                depth += token.type in ("lparen", "lbracket", "lbrace")
                depth -= token.type in ("rparen", "rbracket", "rbrace")
                yield token


class _PartTemplate(jinja2.Template):
    """A compiled template whose blocks that read only what is the same for every patient are filled once (template_parts.py)."""

    @classmethod
    def _from_namespace(cls, environment: jinja2.Environment, namespace: Any, globals: Any) -> jinja2.Template:  # noqa: A002 - Jinja's name
        template = super()._from_namespace(environment, namespace, globals)
        template_parts.keeping_blocks(template, namespace)
        return template


class ClinicSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with every loop, call, operator and filter bounded in time and size.

    A clinic's own templates are served to a web page (`handout serve`) and
    filled with patient data: they must not reach Python, change data, or
    exhaust the machine, whoever wrote them. Templates are given plain data
    only; even so, attributes are read only from plain values, handout's
    frozen records and Jinja's helpers, and only listed methods run
    (template_values.py), so an object with methods that touch files,
    processes or the network is inert in a template however it got there.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    template_class = _PartTemplate
    trusted_calls: dict[int, Callable[..., Any]] = {}  # id → handout's own template functions (gettext), set by make_environment
    code_generator_class = _CheckedConcat
    checked_concat = staticmethod(checked_concat)

    def _generate(self, source: jinja2.nodes.Template, name: str | None, filename: str | None, defer_init: bool = False) -> str:
        # What each block reads travels with its compiled code (and so with the bytecode cache).
        return super()._generate(source, name, filename, defer_init) + template_parts.reads_source(source)  # type: ignore[no-untyped-call]

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"the power {right} is too large for a template (at most {MAX_EXPONENT})")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) and len(sequence) * times > MAX_TEXT:
                    raise SecurityError(f"the template builds a value of more than {MAX_TEXT:,} characters or items")
            if isinstance(left, int) and isinstance(right, int) and max(abs(left), abs(right)) > 10**100:
                raise SecurityError("a number in the template is too large")
        if operator == "%" and isinstance(left, str):
            _checked_arguments((left,), {})
        return _checked_size(super().call_binop(context, operator, left, right))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # "{:>999999999}".format(1) would build a gigabyte before any size check could run.
        if getattr(value, "__name__", "") in ("format", "format_map") and isinstance(getattr(value, "__self__", None), str):
            _checked_arguments((value.__self__,), {})
        return super().wrap_str_format(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # The common case first: a field or property of a plain value or record whose value is plain data.
        # The checks that depend only on the type and the name were passed once for this pair; the value's own
        # check runs every time, and anything else (a method, a missing attribute) takes the full path below.
        verdict = _PLAIN_ATTRIBUTES.get((type(obj), attribute))
        if verdict is None:
            verdict = self._plain_attribute(obj, attribute)
        if verdict:
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                if is_template_value(value) and not isinstance(value, jinja2.Undefined):
                    return value
        # Checked before the attribute is read: reading one (a property) runs the object's own code.
        if not isinstance(obj, jinja2.Undefined) and not is_template_value(obj):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if not isinstance(obj, jinja2.Undefined) and not is_template_value(obj):
            return self.unsafe_undefined(obj, str(argument)[:40])
        return super().getitem(obj, argument)

    def _plain_attribute(self, obj: Any, attribute: str) -> bool:
        """Whether `obj.attribute` may be read whenever its value is plain: the sandbox's checks that do not look at the value."""
        verdict = (
            not isinstance(obj, jinja2.Undefined)
            and is_template_value(obj)
            and self.is_safe_attribute(obj, attribute, None)  # None: plain, so only the type and the name are judged
        )
        if len(_PLAIN_ATTRIBUTES) < _PLAIN_ATTRIBUTES_MAX:
            _PLAIN_ATTRIBUTES[(type(obj), attribute)] = verdict
        return verdict

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        # Refused at once, with Jinja's words: an undefined value would pass unnoticed inside a list or a test.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return super().is_safe_attribute(obj, attr, value) and may_read(obj, attr, value)

    def _call_trusted(self, context: jinja2.runtime.Context, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """What Jinja's Context.call does for a macro or gettext, without its general look for marks on every call."""
        block_vars, loop_vars = kwargs.pop("_block_vars", None), kwargs.pop("_loop_vars", None)
        if block_vars or loop_vars:  # they change the context a pass_context function (`_`) is given: Jinja's own way
            return context.call(function, *args, _block_vars=block_vars, _loop_vars=loop_vars, **kwargs)
        if function is self.globals.get("_"):
            # `_("...")` is Jinja's alias: it calls whatever `gettext` is in the context. When that is handout's own, call it.
            gettext = context.resolve_or_missing("gettext")
            if gettext is function or self.trusted_calls.get(id(gettext)) is not gettext:
                return context.call(function, *args, **kwargs)  # type: ignore[arg-type]
            function = gettext
        try:
            return function(*args, **kwargs)
        except StopIteration:
            return self.undefined("value was undefined because a callable raised a StopIteration exception")

    def is_safe_callable(self, obj: Any) -> bool:
        return super().is_safe_callable(obj) and may_call(obj, iter(self.globals.values()))

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        _current_budget().step()
        if type(__obj) is Macro or __self.trusted_calls.get(id(__obj)) is __obj:
            # A template's own macro (its body runs sandboxed, every step counted) or handout's own gettext
            # functions: nothing to refuse, and their arguments reach no Python that could be made to work
            # hard. Their results are text, still bounded in size.
            return _checked_size(__self._call_trusted(__context, __obj, args, kwargs))
        if not __self.is_safe_callable(__obj):
            # Jinja's own message quotes the object's repr, which may hold a document's value.
            raise SecurityError(f"calling a '{type(__obj).__name__}' object is not allowed in a template")
        _checked_arguments(args, kwargs)
        text = getattr(__obj, "__self__", None)
        if isinstance(text, str) and args:
            if __obj.__name__ == "join":
                args = (_checked_join(args[0], text), *args[1:])
            elif __obj.__name__ == "replace" and len(args) >= 2:
                _check_replace(text, args[0], args[1])
        result = _checked_size(__context.call(__obj, *args, **kwargs))  # what Jinja's own call does, its check made above
        if not is_template_value(result):  # a method handing back a live object (a file, a path) is refused with it
            raise SecurityError(f"a call in the template returned a '{type(result).__name__}' object, which templates may not use")
        return result


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps Jinja's pass_context/pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        passed = [a for a in args if isinstance(a, (jinja2.runtime.Context, jinja2.Environment, jinja2.nodes.EvalContext))]
        values = args[len(passed) :]
        _checked_arguments(values, kwargs)
        if name == "join" and values:
            separator = values[1] if len(values) > 1 else kwargs.get("d", "")
            values = (_checked_join(values[0], str(separator)), *values[1:])
        elif name == "replace" and len(values) >= 3:
            _check_replace(*values[:3])
        return _checked_size(function(*passed, *values, **kwargs))

    return bounded


@jinja2.pass_environment
def _checked_attr(environment: jinja2.Environment, obj: Any, name: str) -> Any:
    """`value | attr("x")`: the same check as `value.x` (Jinja's filter reads the attribute before checking it)."""
    return environment.getattr(obj, str(name))


def _finalize(value: object) -> object:
    # Every {{ value }} passes here: the one place that sees all a template prints.
    if isinstance(value, str):
        _current_budget().printed(len(value))
    return value


def make_environment(override_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """A strict, autoescaping, sandboxed environment searching `override_dirs` in order, then the built-ins.

    A clinic template may `{% extends "builtin/leaflet.xml.j2" %}` and replace one block.
    """
    override_dirs = checked_template_folders(override_dirs)
    builtin = jinja2.FileSystemLoader(templates_dir())
    loader = jinja2.ChoiceLoader(
        [
            *(jinja2.FileSystemLoader(folder) for folder in override_dirs),
            jinja2.PrefixLoader({BUILTIN_PREFIX.rstrip("/"): builtin}),
            builtin,
        ]
    )
    env = ClinicSandbox(
        loader=loader,
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        # Documents and HTML mail are markup: every value is escaped, so patient
        # text can never become markup or template code. Plain-text mail is not.
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml.j2", "html.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
        extensions=[_BoundedLoops, "jinja2.ext.i18n"],
    )
    # {% trans %} and _() take the language of the document being filled (set per
    # document by i18n.use_language), so one process can write several languages.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.trusted_calls = {id(function): function for name in ("_", "gettext", "ngettext") if callable(function := env.globals.get(name))}
    env.policies["ext.i18n.trimmed"] = True  # a sentence wrapped over lines in a template is one message
    env.globals.pop("lipsum", None)  # placeholder text has no place in a patient's document
    env.filters = {name: _bounded_filter(name, function) for name, function in env.filters.items()}
    env.filters[_LOOP_FILTER] = _bounded_loop
    env.filters["nowrap"] = nowrap
    env.filters["attr"] = _checked_attr
    return env


@functools.cache
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    # Compiled templates kept between runs (template_bytecode.py): a command need not compile them every time.
    from handout.template_bytecode import template_cache

    return template_cache()


def compile_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load and compile a template, turning its mistakes into a one-line error naming the file."""
    try:
        return env.get_template(name)
    except Exception as exc:
        raise _template_error(name, exc) from None


def render_template(
    env: jinja2.Environment, name: str, context: Mapping[str, object], shared: frozenset[str] = frozenset(), parts: dict[int, template_parts.Part] | None = None
) -> str:
    """Fill one template, turning template mistakes into a one-line error naming the file.

    `shared`: the context's names whose values are the same for every patient; a block that reads
    nothing else is filled once per process and its text reused (template_parts.py). `parts`: collects
    the markers left in the text for such blocks, for the parser (markup.parse_document); None: none.
    """
    template = compile_template(env, name)
    budget = _BUDGET.set(_Budget())
    try:
        with template_parts.Scope(shared, context, parts):
            return template.render(context)
    except RecursionError:
        raise HandoutError(f"template {name}: a macro or include calls itself without end") from None
    except MemoryError:
        raise HandoutError(f"template {name}: filling it in needs more memory than this computer has; simplify it") from None
    except Exception as exc:  # parents and includes load now, and filters run: all the template's mistakes
        raise _template_error(name, exc) from None
    finally:
        _BUDGET.reset(budget)


def _template_error(name: str, exc: Exception) -> HandoutError:
    """One line for any way a template can go wrong, naming the file and, where known, the line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return HandoutError(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}")
    if isinstance(exc, jinja2.TemplateNotFound):
        return HandoutError(f"template {exc.name} not found")
    where = _template_line(name, exc)
    if isinstance(exc, UnicodeDecodeError):
        return HandoutError(f"template {name}: not UTF-8 text; save it as UTF-8")
    if isinstance(exc, OSError):
        return HandoutError(f"template {name}: cannot be read ({exc.strerror})")
    # Errors raised while filling in may quote a value they met (a patient's name used as a key, say):
    # the message is shown only when every word it quotes is the template's own or a type's name.
    detail = _own_words(str(exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else exc), _template_sources(exc))
    if isinstance(exc, SecurityError):
        return HandoutError(f"template {where}: not allowed: {detail}")
    if isinstance(exc, jinja2.TemplateError):
        return HandoutError(f"template {where}: {detail}")
    # A filter given the wrong kind of value, say: the template's mistake, not a crash.
    return HandoutError(f"template {name} failed while being filled in ({type(exc).__name__}: {detail})")


_HIDDEN = "(its message quoted a value from the document, so it is not shown here)"
# A quoted word in an error message: a type's name reads 'Brand' object or 'dict object'.
_QUOTED = re.compile(r"'([^']*)'( object)?")


def _own_words(message: str, sources: str) -> str:
    """The error's message, or a note saying it is hidden when it quotes something the templates do not say."""
    for found in _QUOTED.finditer(message):
        quoted, type_name = found.group(1), found.group(2) is not None or found.group(1).endswith(" object")
        # A type's name may be qualified by its module ('handout.brand.BrandDetails object').
        if quoted in sources or (type_name and all(part.isidentifier() for part in quoted.removesuffix(" object").split("."))):
            continue
        return _HIDDEN
    return message


def _template_sources(exc: BaseException) -> str:
    """The text of every template file the error passed through (where its own words come from)."""
    texts = []
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            try:
                texts.append(Path(filename).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                pass
        tb = tb.tb_next
    return "\n".join(texts)


def _template_line(name: str, exc: BaseException) -> str:
    """`name, line N` from the innermost template frame of the error (Jinja maps frames to template lines)."""
    found = name
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.endswith(".py") and not filename.startswith("<"):
            found = f"{_short_name(filename, name)}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _short_name(filename: str, name: str) -> str:
    # The clinic's own file by its path (it may have several overrides); a built-in by its name.
    return filename if not filename.startswith(str(templates_dir())) else Path(filename).relative_to(templates_dir()).as_posix()


def template_path(env: jinja2.Environment, name: str) -> str:
    """Which file a template name resolves to: the clinic's override or the built-in one."""
    try:
        return env.get_template(name).filename or name
    except jinja2.TemplateError:
        return name
