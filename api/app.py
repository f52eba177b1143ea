"""The FastAPI application: lifespan wiring, routers, error handlers, dashboard."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import dashboard
from api.headers import SecurityHeaders
from api.routers import (
    audit,
    board,
    clients,
    codec,
    commands,
    consents,
    deliveries,
    feed,
    fhir,
    health,
    journeys,
    me,
)
from api.services import ApiServices
from clinical.policy_loader import load_policy
from delivery.store import DeliveryStore
from readmodel import gauges
from readmodel.access import AccessRepository, session_rules
from readmodel.clients import ClientKeys, ClientStore
from readmodel.consents import ConsentStore
from readmodel.migrate import open_read_model
from readmodel.queries import JourneyQueries
from runtime import tracing
from runtime.client import connect
from runtime.metrics_server import Role, start_metrics
from runtime.settings import Settings, get_settings
from service.days import ProgramCalendar
from service.journeys import JourneyService


@asynccontextmanager
async def services_from(settings: Settings) -> AsyncIterator[ApiServices]:
    """Connect to Temporal and the read model as the settings say."""
    endpoints = start_metrics(settings, Role.API)
    policy = load_policy(settings.policy_path)
    levels = {level.code: level.phase.value for level in policy.levels_of_care}
    async with (
        open_read_model(settings.effective_database_url) as sessions,
        gauges.published(sessions, levels, enabled=endpoints.app_url is not None),
    ):
        client = await connect(settings, runtime=endpoints.runtime)
        yield ApiServices(
            journeys=JourneyService(client, settings.task_queue),
            queries=JourneyQueries(sessions),
            access=AccessRepository(sessions, session_rules(settings)),
            policy=policy,
            deliveries=DeliveryStore(sessions),
            clients=ClientStore(sessions, ClientKeys.from_settings(settings)),
            consents=ConsentStore(sessions),
            calendar=ProgramCalendar(settings.program_timezone),
            mrn_system=settings.ehr_mrn_system,
            codec=client.data_converter.payload_codec,
            temporal_ui_origin=settings.effective_temporal_ui_origin,
        )


def create_app(services: ApiServices | None = None) -> FastAPI:
    """The app; with ``services`` (tests) nothing is connected by the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            yield
            return
        settings = get_settings()
        # Session cookies are Secure when the dashboard is served over https.
        app.state.https = settings.public_url.startswith("https://")
        async with services_from(settings) as built:
            app.state.services = built
            yield
        # The last requests' spans leave now: uvicorn may end the process by signal next.
        tracing.flush()

    if services is None:
        # Traces when the OTEL_* variables ask for them (runtime.tracing), before connecting.
        tracing.setup(tracing.API_SERVICE)
    app = FastAPI(
        title="Recovery Journeys",
        version="0.1.0",
        summary="Durable, individualized treatment journeys: commands, lists, feeds.",
        lifespan=lifespan,
    )
    if services is not None:
        app.state.services = services
    for module in (journeys, board, feed, audit, health, me, deliveries, consents):
        app.include_router(module.router)
    commands.install(app)
    clients.install(app)
    fhir.install(app)
    dashboard.install(app)
    codec.install(app)
    app.add_middleware(SecurityHeaders)
    tracing.instrument_app(app)
    return app
