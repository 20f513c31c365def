"""Webhook tests run jobs like the background consolidation tests: the same queue and settings."""

from tests.jobs.conftest import job_settings, queue_url  # noqa: F401 - shared fixtures
