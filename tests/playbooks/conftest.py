from tests.platform.outbox.loopback import smtp_server, webhook_peer  # noqa: F401
from tests.platform.runtimes import db_runtime  # noqa: F401
