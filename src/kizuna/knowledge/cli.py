"""``kizuna kb add|search|reindex|stats``."""

from __future__ import annotations

from pathlib import Path

import typer

from kizuna.platform.cli.common import runtime


def register(app: typer.Typer) -> None:
    kb = typer.Typer(
        help="Knowledge base: playbook library, FAQ articles and account notes (Japanese and English).",
        no_args_is_help=True,
    )
    app.add_typer(kb, name="kb")

    @kb.command("add")
    def add(
        title: str = typer.Option(..., "--title"),
        body: str = typer.Option(None, "--body", help="The article text (or --file)."),
        file: Path = typer.Option(None, "--file", help="Read the body from a UTF-8 text / Markdown file."),
        kind: str = typer.Option("faq", "--kind", help="faq, howto or playbook_guide."),
        tags: str = typer.Option(None, "--tags"),
        actor: str = typer.Option("cli"),
    ) -> None:
        """Add an FAQ or how-to article (indexed at once)."""
        from kizuna.errors import InvalidInput
        from kizuna.knowledge.service import add_article

        if file is not None:
            body = file.read_text(encoding="utf-8")
        if not body:
            raise InvalidInput("give --body or --file")
        with runtime() as rt, rt.transaction() as session:
            article = add_article(session, actor=actor, title=title, body=body, kind=kind, tags=tags)
        typer.echo(f"article {article.id} added ({article.language})")

    @kb.command("search")
    def search_(
        query: str,
        limit: int = typer.Option(10, "--limit"),
        source: list[str] = typer.Option(None, "--source", help="article, playbook or note (repeatable)."),
        account: int = typer.Option(None, "--account", help="Only this account's notes."),
        reindex: bool = typer.Option(True, "--reindex/--no-reindex", help="Index new notes and changes first."),
    ) -> None:
        """Search articles, playbooks and account notes (BM25; Japanese-aware)."""
        from kizuna.knowledge import service

        analyzer = service.default_analyzer()
        with runtime() as rt, rt.transaction() as session:
            if reindex:
                service.reindex(session, analyzer=analyzer)
            hits = service.search(
                session, query=query, limit=limit, sources=source or None, account_id=account, analyzer=analyzer
            )
        for h in hits:
            where = f" account {h.account_id}" if h.account_id else ""
            typer.echo(f"{h.score:7.3f}  {h.source:<8} {h.source_id:>6}{where}  {h.title}")
            typer.echo(f"           {h.snippet[:100]}")
        typer.echo(f"{len(hits)} results")

    @kb.command("reindex")
    def reindex_(full: bool = typer.Option(False, "--full", help="Re-analyse every note too.")) -> None:
        """Bring the search index up to date."""
        from kizuna.knowledge.service import reindex

        with runtime() as rt, rt.transaction() as session:
            counts = reindex(session, full=full)
        typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()) + " documents indexed")

    @kb.command("stats")
    def stats() -> None:
        """Documents and terms in the index."""
        from kizuna.knowledge.service import index_stats

        with runtime() as rt, rt.transaction() as session:
            s = index_stats(session)
        typer.echo(f"documents: {s['documents']}, distinct terms: {s['terms']}, last indexed: {s['last_indexed_at']}")
