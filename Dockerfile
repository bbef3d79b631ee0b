# The central services (gateway, alerter, notifier) in one image; see deploy/compose.yaml.
FROM python:3.12-slim
RUN pip install --no-cache-dir uv
WORKDIR /opt/vitals
COPY . .
RUN UV_PROJECT_ENVIRONMENT=/opt/vitals uv sync --frozen --all-packages --no-dev
ENV PATH=/opt/vitals/bin:$PATH
USER nobody
