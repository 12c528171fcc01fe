"""A loopback stand-in for a Teams channel's incoming webhook / Workflows trigger URL.

As Microsoft documents it: a POST of ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": {...}}]}`` is answered ``202 Accepted`` (Workflows); a URL
whose signature (``sig=``) is wrong is ``401``; too many posts are ``429`` with ``Retry-After``. ``answers`` lists
statuses to give first (then 202); every card taken is kept in ``cards``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

SIGNATURE = "kZ9c2Jr0-test"


@dataclass
class TeamsWebhookPeer:
    answers: list[int] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[int, str | None]] = field(default_factory=list)  # (status answered, Idempotency-Key)

    def path(self) -> str:
        return f"/workflows/a1b2c3/triggers/manual/paths/invoke?api-version=1&sig={SIGNATURE}"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/workflows/{flow}/triggers/manual/paths/invoke")
        async def invoke(flow: str, request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            if request.query_params.get("sig") != SIGNATURE:
                self.requests.append((401, key))
                return JSONResponse({"error": {"code": "DirectApiAuthorizationRequired"}}, status_code=401)
            body = await request.json()
            if self.answers:
                status = self.answers.pop(0)
                self.requests.append((status, key))
                headers = {"Retry-After": "1"} if status == 429 else {}
                return JSONResponse({"error": {"code": str(status)}}, status_code=status, headers=headers)
            attachment = body["attachments"][0]
            assert body["type"] == "message", body
            assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive", attachment
            assert attachment["content"]["type"] == "AdaptiveCard", attachment
            self.cards.append(attachment["content"])
            self.requests.append((202, key))
            return Response(status_code=202)

        return app
