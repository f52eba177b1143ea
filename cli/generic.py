"""CLI verbs made from the command table for commands that have no hand-written one.

A line of ``models.commands.OPERATIONS`` with a ``cli`` verb becomes
``journeys VERB JOURNEY --FIELD VALUE ... [--by ID] [--json]``: one option per field of its
command model, the actor's field as ``--by``. It is sent and reported like the hand-written
commands (cli/commands.py), which keep their verbs: they read richer values (ratings, goals,
care teams) than one option per field can.

Fields may be text, whole numbers, yes/no flags, one of a string enum's values, a repeatable
option of those, or an optional one of those; a command with any other field is refused when the CLI
is built, naming the field, so a new table line cannot quietly lose a field.
"""

import inspect
import types
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Union, get_args, get_origin

import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from typer.main import get_command_name

from cli.commands import AsJson, By, Journey, Opener, actor, configured_backend, send
from cli.errors import fail, invalid, run
from models.commands import Operation, StaffCommand

# Parameter names of every generated command; a command field may not take one of them.
JOURNEY, BY, AS_JSON = "journey", "by", "as_json"


class UnsupportedFieldError(TypeError):
    """A command field that no command-line option can carry."""


def register(
    app: typer.Typer, operations: Iterable[Operation], open_backend: Opener = configured_backend
) -> list[str]:
    """Add to ``app`` a command for each operation whose CLI verb it does not have yet.

    Returns:
        The verbs added, in table order.

    Raises:
        UnsupportedFieldError: a command has a field no option can carry.
    """
    taken = _verbs(app)
    added: list[str] = []
    for op in operations:
        if op.cli is None or op.cli in taken:
            continue
        app.command(op.cli, help=_help(op))(_command(op.command, open_backend))
        taken.add(op.cli)
        added.append(op.cli)
    return added


def _verbs(app: typer.Typer) -> set[str]:
    names = {group.name for group in app.registered_groups if group.name}
    for info in app.registered_commands:
        if info.name:
            names.add(info.name)
        elif info.callback is not None:
            names.add(get_command_name(info.callback.__name__))
    return names


def _help(op: Operation) -> str:
    doc = inspect.getdoc(op.command)
    return doc or op.name.replace("_", " ").capitalize() + "."


def _command(model: type[StaffCommand], open_backend: Opener) -> Any:
    """A typer callback taking the journey, one option per field, ``--by`` and ``--json``."""
    fields = {name: f for name, f in model.model_fields.items() if name != model.ACTOR}
    clash = fields.keys() & {JOURNEY, BY, AS_JSON}
    if clash:
        raise UnsupportedFieldError(f"{model.__name__}.{min(clash)}: a name the CLI takes")
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(JOURNEY, keyword, annotation=Journey),
        *(_option(model, name, field) for name, field in fields.items()),
        inspect.Parameter(BY, keyword, annotation=By, default=None),
        inspect.Parameter(AS_JSON, keyword, annotation=AsJson, default=False),
    ]

    async def callback(**values: Any) -> None:
        journey, by, as_json = values.pop(JOURNEY), values.pop(BY), values.pop(AS_JSON)
        # Options not given are left out, so the model's defaults apply.
        given = {k: v for k, v in values.items() if v is not None or fields[k].is_required()}
        try:
            cmd = model.model_validate({**given, model.ACTOR: actor(by)})
        except ValidationError as exc:
            raise _invalid(model, exc) from None
        await send(journey, cmd, as_json, open_backend)

    command = run(callback)
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return command


def _option(model: type[StaffCommand], name: str, field: FieldInfo) -> inspect.Parameter:
    kind, nullable = _kind(model, name, field.annotation)
    flag = "--" + name.replace("_", "-")
    decls, annotation = flag, kind
    default: Any = inspect.Parameter.empty
    if kind is bool:
        # A flag: `--x` where it defaults to no; `--x/--no-x` where yes or unset is the default.
        default = False if field.is_required() else field.get_default(call_default_factory=True)
        decls = flag if default is False else f"{flag}/--no-{flag[2:]}"
        annotation = bool if default is not None else bool | None
    elif nullable or not field.is_required():
        annotation, default = kind | None, None
    option = typer.Option(decls, help=field.description)
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[annotation, option],
        default=default,
    )


def _kind(model: type[StaffCommand], name: str, annotation: Any) -> tuple[Any, bool]:
    """The type typer reads the option as, and whether the field takes None."""
    tp = _bare(annotation)
    nullable = False
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        nullable = len(rest) < len(get_args(tp))
        tp = _bare(rest[0]) if len(rest) == 1 else tp
    if get_origin(tp) is list and len(get_args(tp)) == 1 and _scalar(_bare(get_args(tp)[0])):
        return list[_bare(get_args(tp)[0])], nullable  # type: ignore[misc]
    if tp is bool or _scalar(tp):
        return tp, nullable
    raise UnsupportedFieldError(
        f"{model.__name__}.{name}: {annotation!r} cannot be a command-line option"
    )


def _bare(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _scalar(tp: Any) -> bool:
    return tp in (str, int) or (isinstance(tp, type) and issubclass(tp, StrEnum))


def _invalid(model: type[StaffCommand], exc: ValidationError) -> typer.Exit:
    """The first invalid value, named by its option: ``error: --option: why``."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    if not loc:
        return fail(first["msg"])
    option = "--by" if loc[0] == model.ACTOR else "--" + loc[0].replace("_", "-")
    where = ".".join(loc[1:])
    return invalid(option, f"{where}: {first['msg']}" if where else first["msg"])
