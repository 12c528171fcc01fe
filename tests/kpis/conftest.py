"""The web world (an app on a seeded data directory) for the KPI REST API tests."""

from tests.web.fixtures import _world_template, world  # noqa: F401
