# One image for the worker (python worker.py) and the journeys CLI.
FROM python:3.11-slim

# Bytecode is compiled once at build time (below): the workflow sandbox imports the workflow
# module afresh for every journey it loads and would otherwise compile its source each time.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JOURNEYS_LOG_FORMAT=json

RUN useradd --create-home --uid 10001 journeys
WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md worker.py ./
COPY models ./models
COPY workflows ./workflows
COPY activities ./activities
COPY clinical ./clinical
COPY readmodel ./readmodel
COPY runtime ./runtime
COPY service ./service
COPY cli ./cli
COPY api ./api
COPY delivery ./delivery
COPY bench ./bench
COPY fhir_r4b ./fhir_r4b
RUN pip install --no-cache-dir --no-deps . \
    && python -m compileall -q /app

USER journeys
CMD ["python", "worker.py"]
