"""The one exception the rules raise when a command must be refused."""

from models.errors import RejectionCode


class RuleViolation(Exception):
    """A command the state machine or the policy does not allow."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
