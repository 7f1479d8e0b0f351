# Image for every Airflow service in docker-compose.yml: Airflow 3.3 (pinned by requirements.lock)
# plus the statwarehouse package, its DAGs, warehouse DDL and Great Expectations suites.
FROM python:3.11-slim

# The compose file passes the host user's id so that bind-mounted folders stay writable.
ARG AIRFLOW_UID=50000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow

# curl: used by the api-server and scheduler healthchecks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/statwh

# Dependencies first, so that code changes do not reinstall them.
COPY requirements.lock pyproject.toml ./
# --compile-bytecode: PYTHONDONTWRITEBYTECODE keeps Python from caching compiled modules at run
# time, and every Airflow task is a new process: without .pyc files each one would compile Great
# Expectations from source again (about 30 s against 7 s to import, measured for the Makefile's venv).
RUN pip install --no-cache-dir uv \
 && uv pip install --system --no-cache --compile-bytecode -r requirements.lock

COPY etl/ /opt/statwh/etl/
COPY dags/ /opt/statwh/dags/
COPY warehouse_sql/ /opt/statwh/warehouse_sql/
COPY expectations/ /opt/statwh/expectations/
RUN uv pip install --system --no-cache --compile-bytecode --no-deps . \
 && rm -rf build ./*.egg-info

# Non-root user (group 0, like the official Airflow image). The folders below are volume mount
# points: named volumes copy this ownership when they are first created.
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home airflow \
 && mkdir -p /opt/airflow/logs /opt/airflow/auth \
             /var/lib/statwh/landing /var/lib/statwh/archive /var/lib/statwh/quarantine \
 && chown -R "${AIRFLOW_UID}:0" /opt/airflow /var/lib/statwh \
 && chmod -R g+rwX /opt/airflow /var/lib/statwh

USER airflow
