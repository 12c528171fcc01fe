from tests.web.fixtures import _world_template, world  # noqa: F401
