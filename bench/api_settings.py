"""Production settings serving bench/api_urls.py: the API benchmark's server only."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
# Every benchmark client signs in from 127.0.0.1, a new learner for each timed sync: more
# than allauth's 30 sign-ins a minute from one address.
ACCOUNT_RATE_LIMITS = False
