"""The ``journeys`` command line."""
