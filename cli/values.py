"""Staff ids and e-mail addresses given on the command line: checked before anything is opened
or stored; an invalid one is one line on stderr and exit 1."""

from cli.errors import fail, invalid
from models.staff_values import InvalidStaffValueError, check_email, check_staff_id


def staff_id_value(value: str, option: str | None = None) -> str:
    """``value`` if it is a valid staff id (``models.staff_values``).

    Raises:
        typer.Exit: ``error: [OPTION: ]staff id must be ...``, exit 1.
    """
    try:
        return check_staff_id(value)
    except InvalidStaffValueError as exc:
        raise (invalid(option, str(exc)) if option else fail(str(exc))) from None


def email_value(value: str, option: str = "--email") -> str:
    """``value`` if it is a plain e-mail address (``models.staff_values``).

    Raises:
        typer.Exit: ``error: --email: why``, exit 1.
    """
    try:
        return check_email(value)
    except InvalidStaffValueError as exc:
        raise invalid(option, str(exc)) from None
