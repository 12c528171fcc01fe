from tests.platform.runtimes import db_runtime  # noqa: F401
