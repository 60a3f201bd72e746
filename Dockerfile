# Attune: one image for the API, the worker and the migrations; the command picks the role
# (`attune api` by default, `attune worker`, `attune migrate`). It expects external PostgreSQL
# and Temporal (ATTUNE_DATABASE_URL and TEMPORAL_ADDRESS): see docker-compose.temporal.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    ATTUNE_API_HOST=0.0.0.0 \
    ATTUNE_API_PORT=8000 \
    ATTUNE_DATA_DIR=/var/lib/attune \
    ATTUNE_CORE_PACK_DIR=/opt/attune/packs/core \
    ATTUNE_ACTION_USER=attune-action \
    ATTUNE_ALLOW_UPLOADED_WORKFLOWS=false

WORKDIR /opt/attune

# Copy only what the package is built from, so .git, .venv and tests never reach the image
# (there is no .dockerignore). pyproject.toml names README.md as the long description.
COPY pyproject.toml README.md ./
COPY attune/ attune/
COPY api/ api/
COPY db/ db/
COPY workflows/ workflows/
COPY activities/ activities/
COPY packs/ packs/

RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info \
    && useradd --system --user-group --uid 10001 --no-log-init \
        --home-dir /var/lib/attune --create-home --shell /usr/sbin/nologin attune \
    && useradd --system --user-group --uid 10002 --no-log-init \
        --no-create-home --shell /usr/sbin/nologin attune-action

# The API and migrations run as `attune`. The worker runs actions as `attune-action`
# (ATTUNE_ACTION_USER), so an action cannot read the worker's environment (database URL,
# encryption key); switching users needs root, which docker-compose.temporal.yml gives the
# worker container alone, with every capability dropped but those it needs. Workflow code
# runs inside the worker itself, so uploaded packs may not bring any
# (ATTUNE_ALLOW_UPLOADED_WORKFLOWS=false): mount such packs under ATTUNE_PACKS_DIRS and
# register them by path.
USER 10001:10001

EXPOSE 8000

CMD ["attune", "api"]
