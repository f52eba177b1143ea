"""FHIR R4B mapping of journeys, instruments, consent and the client's facts (no I/O).

``export.build_bundle`` turns domain objects into a Bundle; ``imports`` maps an incoming
QuestionnaireResponse or Patient back to domain input, or raises ``FhirInputError`` carrying an
OperationOutcome that names the failing element.
"""
