"""Who the caller is."""

from fastapi import APIRouter

from api.deps import Staff
from models.views import StaffAccount

router = APIRouter(tags=["staff"])


@router.get("/me")
async def me(staff: Staff) -> StaffAccount:
    """The staff account behind the token."""
    return staff
