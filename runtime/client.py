"""The one Temporal client factory: pydantic converter plus the encryption codec."""

import dataclasses
from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.runtime import Runtime

from runtime import tracing
from runtime.codec import EncryptionCodec, RefusedPayloadConverter, RefusingCodec, load_keys
from runtime.settings import Settings


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """The pydantic data converter, with ``codec`` applied to every payload.

    Failure messages and stack traces move into an encoded attribute the codec encrypts: a
    refused command's reason is read by the caller that holds the key, never stored in history
    or shown in the Temporal UI as plaintext.
    """
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


class _WorkerPayloadConverter(PydanticPayloadConverter):
    """The pydantic converter that also reads the stand-in of a refused payload."""

    def __init__(self) -> None:
        super().__init__()
        CompositePayloadConverter.__init__(
            self, *self.converters.values(), RefusedPayloadConverter()
        )


def worker_client(client: Client) -> Client:
    """``client``'s connection with the worker's converter (see :class:`RefusingCodec`).

    A payload not encrypted with a known key then never fails a workflow task: an update
    carrying one is rejected, a signal dropped, a start failed, and the journey carries on.
    """
    converter = client.data_converter
    codec = converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        return client
    worker_converter = dataclasses.replace(
        converter,
        payload_codec=RefusingCodec(codec),
        payload_converter_class=_WorkerPayloadConverter,
    )
    return Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=worker_converter,
        # Worker interceptors (tracing) reach workers through the client they are built from.
        interceptors=client.config()["interceptors"],
    )


def codec_from_settings(settings: Settings) -> EncryptionCodec:
    """The encryption codec with the configured (or local) keys.

    Raises:
        runtime.codec.CodecKeyError: the keys are missing or malformed.
    """
    keys, active = load_keys(settings)
    return EncryptionCodec(keys, active)


async def connect(
    settings: Settings,
    *,
    address: str | None = None,
    lazy: bool = False,
    operator_only: bool = False,
    runtime: Runtime | None = None,
) -> Client:
    """Connect to the configured cluster, or the embedded server on localhost.

    Args:
        settings: where to connect, and the TLS material, API key and codec keys.
        address: overrides the configured address (e.g. an embedded server on a free port).
        lazy: defer the connection to the first call (commands that may not need Temporal).
        operator_only: a client for operator calls that carry no payloads (``journeys
            setup``): no codec keys are read. Whatever it would send to a journey is refused.
        runtime: the process's SDK runtime serving the SDK's metrics
            (:func:`runtime.metrics_server.start_metrics`); the default runtime when None.

    Returns:
        A client whose payloads are pydantic-converted and encrypted.
    """
    api_key = settings.temporal_api_key
    return await Client.connect(
        address or settings.temporal_address or f"127.0.0.1:{settings.temporal_port}",
        namespace=settings.temporal_namespace,
        data_converter=data_converter(None if operator_only else codec_from_settings(settings)),
        tls=_tls(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        lazy=lazy,
        interceptors=tracing.interceptors(),
        runtime=runtime,
    )


def _tls(settings: Settings) -> TLSConfig | None:
    # None, not False: with an API key (Temporal Cloud) the SDK then turns TLS on by itself.
    if not settings.temporal_tls:
        return None
    return TLSConfig(
        client_cert=_read(settings.temporal_tls_cert),
        client_private_key=_read(settings.temporal_tls_key),
        server_root_ca_cert=_read(settings.temporal_tls_ca),
    )


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path else None
