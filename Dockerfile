# One image for web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY . .
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=build-only \
       python manage.py collectstatic --no-input

RUN useradd --create-home stepwise
USER stepwise
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
