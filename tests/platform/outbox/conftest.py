from tests.platform.outbox.loopback import smtp_server, webhook_peer  # noqa: F401
