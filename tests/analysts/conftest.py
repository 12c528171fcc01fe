from tests.web.demo_app import demo_app  # noqa: F401
