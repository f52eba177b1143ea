"""The versioned treatment plan."""

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, PositiveInt, model_validator

from models.base import OpaqueId, ShortText, StrictModel


class GoalStatus(StrEnum):
    """Progress of one goal."""

    ACTIVE = "active"
    ACHIEVED = "achieved"
    REVISED = "revised"
    DROPPED = "dropped"


class Goal(StrictModel):
    """A measurable goal with a target date."""

    goal_id: OpaqueId
    description: ShortText
    target_date: date
    status: GoalStatus = GoalStatus.ACTIVE


class TreatmentPlan(StrictModel):
    """One version of the plan; every revision is a new version with who and why."""

    version: PositiveInt
    goals: list[Goal] = Field(min_length=1, max_length=50)
    author: OpaqueId
    reason: ShortText
    revised_at: AwareDatetime

    @model_validator(mode="after")
    def _unique_goals(self) -> "TreatmentPlan":
        ids = [g.goal_id for g in self.goals]
        if len(ids) != len(set(ids)):
            raise ValueError("goals: goal ids must be unique")
        return self
