# Production image: one image, three roles (web, worker, beat) chosen by the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app

RUN useradd --create-home --uid 10001 astro
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=false SECRET_KEY=build-only DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost \
    STEAM_MODE=sandbox ASTRO_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktbm90LWEtc2VjcmV0LTAxMjM= \
    python manage.py collectstatic --noinput --verbosity 0

USER astro
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30", "--access-logfile", "-"]
