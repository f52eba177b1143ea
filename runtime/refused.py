"""The refusal of a payload not encrypted with a known key, importable inside the workflow
sandbox (the worker fails a started workflow with it; see runtime.codec.RefusingCodec)."""

# What a refused payload's error says: it names no key material and none of the payload.
REFUSED_MESSAGE = "payload not encrypted with a known key"


class ForeignPayloadError(Exception):
    """A workflow input, update, signal or query argument not encrypted with a known key."""
