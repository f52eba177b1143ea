"""Process plumbing: settings, logging, the Temporal client factory, codec, embedded server."""
