"""The account store refuses staff ids no staff member could have, whoever calls it."""

import pytest
from sqlalchemy import text

from models.staff import StaffRole
from models.staff_values import InvalidStaffValueError
from readmodel.access import AccessRepository
from tests.readmodel.support import Sessions


@pytest.mark.parametrize("staff_id", ["", "a\r\nb", "x y", "a" * 65])
async def test_add_staff_refuses_an_id_that_is_not_an_opaque_id(
    sqlite_sessions: Sessions, staff_id: str
) -> None:
    with pytest.raises(InvalidStaffValueError, match="staff id must be"):
        await AccessRepository(sqlite_sessions).add_staff(staff_id, StaffRole.CLINICIAN)
    async with sqlite_sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM staff"))).scalar_one() == 0
