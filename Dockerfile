# syntax=docker/dockerfile:1
# One image for every Vitals service: `docker run IMAGE vitals gateway|alerter|notifier|agent`.
# Stages: the dashboard built with Node; the packages installed with uv into their own
# virtualenv (/opt/vitals/venv, not the source folder); a slim runtime running as an
# unprivileged user, with the venv and the dashboard only. See docs/deploy.md, "Container".
ARG PYTHON_VERSION=3.12
ARG NODE_VERSION=22
ARG UV_VERSION=0.13

FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/services/gateway/web
COPY services/gateway/web/package.json services/gateway/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY services/gateway/web/ ./
RUN npm run build

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/vitals/venv
WORKDIR /src
# The locked dependencies first, so a change of code alone reuses this layer.
COPY pyproject.toml uv.lock README.md ./
COPY libs/core/pyproject.toml libs/core/
COPY libs/servers/pyproject.toml libs/servers/
COPY services/agent/pyproject.toml services/agent/
COPY services/alerter/pyproject.toml services/alerter/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/notifier/pyproject.toml services/notifier/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --all-extras --no-dev --no-install-workspace
COPY libs/ libs/
COPY services/ services/
COPY src/ src/
# Not editable: the venv must work once /src is gone.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --all-packages --all-extras --no-dev --no-editable

FROM python:${PYTHON_VERSION}-slim-bookworm
RUN groupadd --system --gid 10001 vitals \
 && useradd --system --uid 10001 --gid vitals --home-dir /var/lib/vitals --no-create-home \
      --shell /usr/sbin/nologin vitals \
 && install -d -o vitals -g vitals -m 0750 /var/lib/vitals
COPY --from=build /opt/vitals/venv /opt/vitals/venv
COPY --from=web /src/services/gateway/web/dist /opt/vitals/web
ENV PATH=/opt/vitals/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VITALS_DATA_DIR=/var/lib/vitals \
    VITALS_GATEWAY_WEB_DIR=/opt/vitals/web \
    VITALS_HTTP_HOST=0.0.0.0
WORKDIR /var/lib/vitals
USER 10001:10001
EXPOSE 8000
# The gateway: /healthz answers 200; the others: their NATS accepts a connection.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["vitals", "healthcheck"]
CMD ["vitals", "gateway"]
