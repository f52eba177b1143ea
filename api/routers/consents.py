"""A client's consents to disclose and the accounting of disclosures (42 CFR Part 2).

Whoever may see the client records a signed consent, revokes one (at once: the next disclosure
under it is refused) and reads the accounting of disclosures. A client the caller may not see
answers 404 as a missing one does; every request is audited with the client's opaque id only.
"""

from fastapi import APIRouter, HTTPException, Request, status

from api.bodies import body_spec, read_body
from api.deps import Audit, Audited, Services
from api.responses import error_responses
from api.routers.clients import visible_client
from models.consent import Consent, ConsentTerms, Disclosure
from readmodel.consents import UnknownConsentError

router = APIRouter(prefix="/clients/{client_id}", tags=["consents and disclosures"])
ERRORS = error_responses(401, 404)


async def _client(services: Services, audit: Audit, client_id: str) -> str:
    """The client's id when it exists and the caller may see it; 404 otherwise."""
    return (await visible_client(services, audit, client_id)).client_id


@router.post(
    "/consents",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    openapi_extra=body_spec(ConsentTerms.__name__),
)
async def record_consent(
    client_id: str, request: Request, services: Services, audit: Audited
) -> Consent:
    """Record a consent the client signed: recipient, purpose, what may be disclosed, when."""
    client = await _client(services, audit, client_id)
    terms = await read_body(request, ConsentTerms)
    consent = await services.consents.add(client, terms, audit.staff.staff_id)
    audit.detail = f"client {client}; consent {consent.consent_id}"
    return consent


@router.get("/consents", responses=ERRORS)
async def list_consents(client_id: str, services: Services, audit: Audited) -> list[Consent]:
    """The client's consents, newest first (revoked and expired ones included)."""
    return await services.consents.consents(await _client(services, audit, client_id))


@router.post("/consents/{consent_id}/revoke", responses=ERRORS)
async def revoke_consent(
    client_id: str, consent_id: str, services: Services, audit: Audited
) -> Consent:
    """Revoke a consent: no disclosure under it from now on."""
    client = await _client(services, audit, client_id)
    audit.detail = f"client {client}; consent {consent_id[:64]}"
    try:
        return await services.consents.revoke(client, consent_id, audit.staff.staff_id)
    except UnknownConsentError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "consent not found") from None


@router.get("/disclosures", responses=ERRORS)
async def accounting_of_disclosures(
    client_id: str, services: Services, audit: Audited
) -> list[Disclosure]:
    """Every disclosure of the client's records outside the program: what, to whom, why,
    when, by whom and under which consent, newest first."""
    return await services.consents.disclosures(await _client(services, audit, client_id))
