"""Production settings serving bench/api_urls.py: the API benchmark's server only."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
