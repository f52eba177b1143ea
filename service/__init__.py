"""Client-side journey commands shared by the CLI (and later the HTTP API)."""
