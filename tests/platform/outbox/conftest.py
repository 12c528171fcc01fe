from tests.notify.loopback import smtp_server, webhook_peer  # noqa: F401
