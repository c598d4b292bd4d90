# access-rpm: slim image, non-root, serves on 0.0.0.0:8000.
# `python -m app serve` applies pending migrations before serving; to migrate as a separate
# release step instead, run `python -m app migrate` once before starting the replicas.
# A fixed Python release and Debian base (update deliberately, with the lock file).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ACCESS_RPM_DATA_DIR=/srv/data \
    ACCESS_RPM_DATABASE_URL=sqlite+aiosqlite:////srv/data/access-rpm.db

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
WORKDIR /srv
COPY pyproject.toml requirements.lock README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Exact versions from the lock file, so the image is the same whenever it is built; editable,
# so `python -m app migrate` finds alembic.ini and migrations/ beside the code.
RUN pip install -c requirements.lock -e . && mkdir -p /srv/data && chown app:app /srv/data

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
