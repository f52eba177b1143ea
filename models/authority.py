"""Decision authority: which care-team roles may take which clinical actions (policy data).

The defaults are safe for a policy stored in a running journey before this section existed:
they are what the packaged policies name, so such a journey gets them on its next run.
"""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from models.base import FrozenModel
from models.care import Role


class ClinicalAction(StrEnum):
    """A clinical act the journey takes only from an authorized care-team member."""

    # A placement decision (a change or a continued stay) outside withdrawal management.
    DECIDE = "decide"
    # A decision that enters, leaves, changes or continues a withdrawal-management level.
    DECIDE_WITHDRAWAL = "decide_withdrawal"
    ASSESS = "assess"
    SIGN_PLAN = "sign_plan"
    RECORD_CLIENT_SIGNATURE = "record_client_signature"
    REVISE_PLAN = "revise_plan"
    DISCHARGE = "discharge"


# Licensed clinical roles and those accountable for them.
_CLINICAL = (
    Role.PHYSICIAN,
    Role.NURSE,
    Role.THERAPIST,
    Role.SUPERVISOR,
    Role.CLINICAL_DIRECTOR,
)
# Withdrawal management is medical care: only medical staff move a client in or out of it.
_MEDICAL = (Role.PHYSICIAN, Role.NURSE)

Roles = Annotated[list[Role], Field(min_length=1, max_length=len(Role))]


def _roles(*roles: Role) -> Any:
    return Field(default_factory=lambda: list(roles))


class AuthorityPolicy(FrozenModel):
    """For each clinical action, the care-team roles that may take it (never empty)."""

    decide: Roles = _roles(*_CLINICAL)
    decide_withdrawal: Roles = _roles(*_MEDICAL)
    assess: Roles = _roles(*_CLINICAL)
    sign_plan: Roles = _roles(*_CLINICAL)
    # Recording that the client signed attests it happened in front of a team member; the case
    # manager often sits with the client for it.
    record_client_signature: Roles = _roles(*_CLINICAL, Role.CASE_MANAGER)
    revise_plan: Roles = _roles(*_CLINICAL)
    discharge: Roles = _roles(*_CLINICAL)

    def roles(self, action: ClinicalAction) -> list[Role]:
        """The roles allowed to take ``action``."""
        allowed: list[Role] = getattr(self, action.value)
        return allowed
