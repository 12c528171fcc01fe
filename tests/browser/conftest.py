from tests.web.demo_app import demo_app  # noqa: F401
from tests.web.fixtures import _world_template, world  # noqa: F401
