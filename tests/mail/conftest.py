"""E-mail in tests: the app as kizuna serve builds it, on the web tests' world."""

from tests.web.fixtures import _world_template, world  # noqa: F401
