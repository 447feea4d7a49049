# One image for web, worker, beat and the one-shot migrate service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY . .
# Production settings refuse to start without their required variables, collectstatic
# included: it gets harmless values that live for this one command, a fresh random key
# among them. Nothing of them stays in the image; the real ones come at run time.
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && DJANGO_SETTINGS_MODULE=config.settings.production \
       SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
       ALLOWED_HOSTS=build.invalid SITE_URL=https://build.invalid \
       REDIS_URL=redis://build.invalid:6379/0 \
       python manage.py collectstatic --no-input

RUN useradd --create-home stepwise
USER stepwise
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]
