# The image behind docker-compose.yml's web, worker, beat and migrate services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SLAPORTAL_VAR_DIR=/app/var
WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY . .
# collectstatic only reads settings; the key and host are throwaways that never serve a request.
RUN DEBUG=0 SECRET_KEY=collectstatic-build-only ALLOWED_HOSTS=build.invalid python manage.py collectstatic --noinput \
    && mkdir -p /app/var/celery && useradd --system --home /app slaportal && chown -R slaportal /app/var
USER slaportal

EXPOSE 8000
CMD ["gunicorn", "slaportal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
