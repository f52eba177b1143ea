"""What a staff id and a staff e-mail address may be, checked before either is stored.

A staff id is an opaque id (``OpaqueId``), as care-team member ids are: 1-64 ASCII letters,
digits, ``.``, ``_``, ``:`` or ``-``, starting with a letter or digit. An e-mail address is a
plain ``local@domain`` of printable ASCII, at most 254 characters: one ``@``; no spaces, control
characters or line breaks (a CR/LF would add header lines to every message sent to it), and none
of the characters that would name more recipients or a display name (``,`` ``;`` ``<`` ``>``
quotes); a domain of dot-separated host-name labels with at least one dot.
"""

import re

from pydantic import TypeAdapter, ValidationError

from models.base import OpaqueId

STAFF_ID_RULE = "1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
EMAIL_MAX = 254
LOCAL_PART_MAX = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_staff_id = TypeAdapter(OpaqueId)


class InvalidStaffValueError(ValueError):
    """A staff id or e-mail address that cannot be one; the message never repeats it."""


def check_staff_id(value: str) -> str:
    """``value`` if it is a valid staff id.

    Raises:
        InvalidStaffValueError: it is empty, too long, or has a character ids may not have.
    """
    try:
        return _staff_id.validate_python(value)
    except ValidationError:
        raise InvalidStaffValueError(f"staff id must be {STAFF_ID_RULE} (e.g. th-chen)") from None


def check_email(value: str) -> str:
    """``value`` if it is a plain e-mail address (see the module's rules).

    Raises:
        InvalidStaffValueError: the first rule it breaks.
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidStaffValueError("e-mail address has a control character or line break")
    if len(value) > EMAIL_MAX:
        raise InvalidStaffValueError(f"e-mail address is longer than {EMAIL_MAX} characters")
    if value.count("@") != 1:
        raise InvalidStaffValueError("e-mail address needs exactly one @")
    local, _, domain = value.partition("@")
    if len(local) > LOCAL_PART_MAX or not _LOCAL_PART.fullmatch(local):
        raise InvalidStaffValueError(
            f"the part before @ must be 1-{LOCAL_PART_MAX} ASCII letters, digits or "
            "!#$%&'*+/=?^_`{|}~- separated by single dots"
        )
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidStaffValueError(
            "the part after @ must be a domain name with a dot, e.g. clinic.example.org"
        )
    return value
