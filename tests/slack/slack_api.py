"""A loopback peer with the shapes of Slack's Web API (from its API reference), for ``slack_sdk.WebClient``.

- Every method answers HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}``.
- ``chat.postMessage`` (``channel``, ``text``, ``blocks``) answers ``{ok, channel, ts, message}``; an unknown channel
  is ``channel_not_found``.
- ``chat.update`` (``channel``, ``ts``, ``text``, ``blocks``) answers ``{ok, channel, ts, text}``; a ``ts`` the channel
  never had is ``message_not_found``.
- ``users.lookupByEmail`` / ``users.info`` answer ``{ok, user: {id, name, profile: {email}}}`` (``users_not_found``
  / ``user_not_found``); ``conversations.open`` (``users``) answers ``{ok, channel: {id: "D…"}}``.
- Rate limits: HTTP 429 with ``Retry-After: <seconds>`` (``rate_limited`` lists how many calls of a method to refuse).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

_ts = itertools.count(1)


@dataclass
class SlackPeer:
    users: dict[str, str] = field(default_factory=dict)  # Slack user id -> e-mail
    channels: set[str] = field(default_factory=lambda: {"C0KIZUNA"})
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> calls to answer 429 first
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> text, blocks

    def posts(self) -> list[dict[str, Any]]:
        return [args for method, args in self.calls if method == "chat.postMessage"]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/api/{method}", methods=["GET", "POST"])
        async def call(method: str, request: Request) -> JSONResponse:
            args: dict[str, Any] = dict(request.query_params)
            body = await request.body()
            if body:
                if request.headers.get("content-type", "").startswith("application/json"):
                    args |= json.loads(body)
                else:
                    args |= {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if isinstance(args.get("blocks"), str):
                args["blocks"] = json.loads(args["blocks"])
            self.calls.append((method, args))
            if not request.headers.get("authorization", "").startswith("Bearer xoxb-"):
                return JSONResponse({"ok": False, "error": "not_authed"})
            if self.rate_limited.get(method, 0) > 0:
                self.rate_limited[method] -= 1
                limited = {"ok": False, "error": "ratelimited"}
                return JSONResponse(limited, status_code=429, headers={"Retry-After": "1"})
            return JSONResponse(self.answer(method, args))

        return app

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            channel = str(args.get("channel"))
            if channel not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            ts = f"1700000000.{next(_ts):06d}"
            self.messages[(channel, ts)] = {"text": args["text"], "blocks": args.get("blocks")}
            return {"ok": True, "channel": channel, "ts": ts, "message": {"type": "message", "text": args["text"]}}
        if method == "chat.update":
            key = (str(args.get("channel")), str(args.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = {"text": args.get("text"), "blocks": args.get("blocks")}
            return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")}
        if method in ("users.lookupByEmail", "users.info"):
            for user_id, email in self.users.items():
                if args.get("email") == email or args.get("user") == user_id:
                    return {"ok": True, "user": {"id": user_id, "name": email, "profile": {"email": email}}}
            return {"ok": False, "error": "users_not_found" if method == "users.lookupByEmail" else "user_not_found"}
        if method == "conversations.open":
            dm = "D" + str(args["users"])[1:]
            self.channels.add(dm)
            return {"ok": True, "channel": {"id": dm}}
        return {"ok": False, "error": "unknown_method"}
