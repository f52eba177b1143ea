"""Pure clinical rules and the journey state machine: no Temporal, no I/O."""
