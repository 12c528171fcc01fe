"""What the knowledge base's API takes: an article."""

from __future__ import annotations

from pydantic import Field

from kizuna.platform.schemas import RequestBody


class ArticleIn(RequestBody):
    title: str = Field(max_length=500)
    body: str = Field(max_length=200_000)
    kind: str = Field(default="faq", max_length=16, description="faq, howto or playbook_guide")
    tags: str | None = Field(default=None, max_length=500)
