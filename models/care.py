"""Care team contracts."""

from enum import StrEnum

from pydantic import Field, model_validator

from models.base import OpaqueId, StrictModel


class Role(StrEnum):
    """A role a staff member holds on one client's care team."""

    PHYSICIAN = "physician"
    NURSE = "nurse"
    THERAPIST = "therapist"
    CASE_MANAGER = "case_manager"
    PEER_SUPPORT = "peer_support"
    RECOVERY_COACH = "recovery_coach"
    SUPERVISOR = "supervisor"
    CLINICAL_DIRECTOR = "clinical_director"


CLINICIAN_ROLES = frozenset({Role.PHYSICIAN, Role.NURSE, Role.THERAPIST})


class CareTeamMember(StrictModel):
    """One staff member on a journey's care team (staff ids are not client data)."""

    member_id: OpaqueId
    role: Role
    primary: bool = False


class CareTeam(StrictModel):
    """The journey's team: one primary clinician and at least one supervisor."""

    members: list[CareTeamMember] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _check_shape(self) -> "CareTeam":
        ids = [m.member_id for m in self.members]
        if len(ids) != len(set(ids)):
            raise ValueError("members: a staff member may appear only once")
        primaries = [m for m in self.members if m.primary]
        if len(primaries) != 1:
            raise ValueError("members: exactly one member must be the primary clinician")
        if primaries[0].role not in CLINICIAN_ROLES:
            raise ValueError("members: the primary must hold a clinician role")
        if not any(m.role is Role.SUPERVISOR for m in self.members):
            raise ValueError("members: the team needs a supervisor for escalations")
        return self

    @property
    def primary(self) -> CareTeamMember:
        """The primary clinician."""
        return next(m for m in self.members if m.primary)

    def with_role(self, role: Role) -> list[CareTeamMember]:
        """Members holding ``role``."""
        return [m for m in self.members if m.role is role]
