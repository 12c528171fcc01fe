"""``kizuna voc …``: the voice of the customer from the command line (every analysis as table, CSV or JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import typer

from kizuna.platform.cli.common import fail, runtime

FORMATS = ("table", "csv", "json")


def _date(text: str | None, option: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")
    return None


def _emit(frame: Any, fmt: str, limit: int | None) -> None:
    import json

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if limit is not None and limit > 0:
        frame = frame.head(limit)
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=_plain))
    elif frame.empty:
        typer.echo("(no rows)")
    else:
        typer.echo(frame.to_string(index=False, max_colwidth=60, float_format=lambda v: f"{v:.3f}"))


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def register(app: typer.Typer) -> None:
    voc = typer.Typer(
        help="Voice of the customer (顧客の声): frequency, KWIC, networks, characteristic words, topics, sentiment, "
        "churn reasons, feature requests by ARR, churn lift, labels.",
        no_args_is_help=True,
    )
    app.add_typer(voc, name="voc")

    fmt_opt = typer.Option("table", "--format", "-f", help="table, csv or json.")
    channel_opt = typer.Option(None, "--channel", help="Only this channel (call_center, survey, …).")
    since_opt = typer.Option(None, "--since", help="Recorded on or after this date (YYYY-MM-DD).")
    until_opt = typer.Option(None, "--until", help="Recorded before this date (YYYY-MM-DD).")
    language_opt = typer.Option(None, "--language", help="ja or en (detected per text).")
    limit_opt = typer.Option(None, "--limit", help="Print at most this many rows.")

    def run(
        fn: Callable[..., Any],
        fmt: str,
        limit: int | None,
        channel: str | None,
        since: str | None,
        until: str | None,
        language: str | None,
        **kwargs: Any,
    ) -> None:
        from kizuna.voc.service import VocFilter

        where = VocFilter(
            channel=channel, since=_date(since, "--since"), until=_date(until, "--until"), language=language
        )
        with runtime() as rt, rt.transaction() as session:
            frame = fn(session, where=where, **kwargs)
        _emit(frame, fmt, limit)

    @voc.command("freq")
    def freq(
        by: str = typer.Option(None, "--by", help="channel, segment, plan, period (quarter), month, industry …"),
        min_df: int = typer.Option(2, "--min-df"),
        top: int = typer.Option(30, "--top", help="Terms per group."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Word and document frequency, overall or by channel / segment / plan / period."""
        from kizuna.voc.analyses import word_frequency

        run(word_frequency, fmt, limit, channel, since, until, language, by=by, min_df=min_df, top=top)

    @voc.command("emerging")
    def emerging(
        period: str = typer.Option("period", "--period", help="period (quarter) or month."),
        current: str = typer.Option(None, "--current", help="e.g. 2026Q3 (default: the last one)."),
        previous: str = typer.Option(None, "--previous"),
        min_df: int = typer.Option(3, "--min-df"),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Terms rising in the last period against the one before (signed log-likelihood)."""
        from kizuna.voc.analyses import emerging as emerging_fn

        run(
            emerging_fn,
            fmt,
            limit,
            channel,
            since,
            until,
            language,
            period=period,
            current=current,
            previous=previous,
            min_df=min_df,
        )

    @voc.command("kwic")
    def kwic(
        term: str = typer.Argument(..., help="A term (使いにくい, サポート, price …)."),
        width: int = typer.Option(20, "--width", help="Characters of context either side."),
        collocates: bool = typer.Option(False, "--collocations", help="Collocations instead of lines."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Keyword in context: every occurrence of TERM with its surroundings."""
        from kizuna.voc.analyses import concordance

        run(concordance, fmt, limit, channel, since, until, language, term=term, width=width, collocates=collocates)

    @voc.command("network")
    def network(
        min_df: int = typer.Option(3, "--min-df"),
        top_edges: int = typer.Option(60, "--top-edges"),
        nodes: bool = typer.Option(False, "--nodes", help="Print the nodes (communities, centrality)."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Co-occurrence network (Jaccard): edges, or nodes with communities and centrality."""
        from kizuna.voc.analyses import network as network_fn

        run(
            network_fn,
            fmt,
            limit,
            channel,
            since,
            until,
            language,
            min_df=min_df,
            top_n_edges=top_edges,
            part="nodes" if nodes else "edges",
        )

    @voc.command("chars")
    def chars(
        by: str = typer.Option(..., "--by", help="churned, nps, plan, industry, segment or channel."),
        top: int = typer.Option(15, "--top"),
        statistic: str = typer.Option("log_likelihood", "--statistic", help="log_likelihood, chi2 or jaccard."),
        min_df: int = typer.Option(2, "--min-df"),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Characteristic words per group (churned vs retained, detractors vs promoters, plan, industry)."""
        from kizuna.voc.analyses import characteristic

        run(
            characteristic,
            fmt,
            limit,
            channel,
            since,
            until,
            language,
            by=by,
            top_n=top,
            statistic=statistic,
            min_df=min_df,
        )

    @voc.command("ca")
    def ca(
        by: str = typer.Option("channel", "--by", help="channel, plan, industry, segment, churned, nps …"),
        top_terms: int = typer.Option(40, "--top-terms"),
        min_df: int = typer.Option(3, "--min-df"),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Correspondence analysis of words × groups (coordinates of terms and groups)."""
        from kizuna.voc.analyses import correspondence

        run(correspondence, fmt, limit, channel, since, until, language, by=by, top_terms=top_terms, min_df=min_df)

    @voc.command("topics")
    def topics(
        n: int = typer.Option(6, "--n", help="Number of topics."),
        top: int = typer.Option(8, "--top", help="Terms per topic."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Topics (NMF) with the number you choose."""
        from kizuna.voc.analyses import topics as topics_fn

        run(topics_fn, fmt, limit, channel, since, until, language, n_topics=n, top_n=top)

    @voc.command("clusters")
    def clusters(
        n: int = typer.Option(8, "--n", help="Number of clusters."),
        top_terms: int = typer.Option(60, "--top-terms"),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Hierarchical clustering of frequent words (Jaccard distance)."""
        from kizuna.voc.analyses import word_clusters

        run(word_clusters, fmt, limit, channel, since, until, language, n_clusters=n, top_terms=top_terms)

    @voc.command("sentiment")
    def sentiment(
        sentences: bool = typer.Option(False, "--sentences", help="Per sentence instead of per text."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Sentiment per text or sentence: positive / negative / neutral / request."""
        from kizuna.voc.analyses import sentiment as sentiment_fn

        run(sentiment_fn, fmt, limit, channel, since, until, language, per="sentence" if sentences else "text")

    @voc.command("classify")
    def classify(
        policy: str = typer.Option("model_first", "--policy", help="model_first or rules_first."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Churn reason / feature request / praise / other for every text (rules + model from labels)."""
        from kizuna.voc.analyses import classify as classify_fn

        run(classify_fn, fmt, limit, channel, since, until, language, policy=policy)

    @voc.command("requests")
    def requests(
        n_themes: int = typer.Option(None, "--themes", help="Number of themes (default: cut by distance)."),
        examples: int = typer.Option(2, "--examples", help="Example texts per theme."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Feature-request themes ranked by the number of accounts and their ARR, with example texts."""
        from kizuna.voc.analyses import requests as requests_fn

        run(requests_fn, fmt, limit, channel, since, until, language, n_themes=n_themes, examples=examples)

    @voc.command("lift")
    def lift(
        window: int = typer.Option(180, "--window", help="Days after a text within which churn counts."),
        min_accounts: int = typer.Option(3, "--min-accounts"),
        no_terms: bool = typer.Option(False, "--reasons-only", help="Only categories, not terms."),
        fmt: str = fmt_opt,
        channel: str = channel_opt,
        since: str = since_opt,
        until: str = until_opt,
        language: str = language_opt,
        limit: int = limit_opt,
    ) -> None:
        """Which reasons and terms precede churn (lift over the base churn rate)."""
        from kizuna.voc.analyses import lift as lift_fn

        run(
            lift_fn,
            fmt,
            limit,
            channel,
            since,
            until,
            language,
            window_days=window,
            min_accounts=min_accounts,
            terms=not no_terms,
        )

    @voc.command("label")
    def label(
        entry_id: int = typer.Argument(..., help="The VoC entry id."),
        category: str = typer.Argument(..., help="results_not_achieved, hard_to_use, …, praise, other."),
        actor: str = typer.Option("cli", "--actor"),
    ) -> None:
        """Give a VoC entry its category; the classifier learns from these labels."""
        from kizuna.voc.service import label_entry

        with runtime() as rt, rt.transaction() as session:
            label_entry(session, entry_id=entry_id, category=category, actor=actor)
        typer.echo(f"entry {entry_id} labelled {category}")

    @voc.command("evaluate")
    def evaluate(
        file: str = typer.Option(None, "--file", help="A CSV with text and category columns to measure on."),
        fmt: str = fmt_opt,
        limit: int = limit_opt,
    ) -> None:
        """Per-class precision / recall / F1: on --file, or cross-validated over the training set."""
        import pandas as pd

        from kizuna.voc.analyses import evaluate as evaluate_fn

        labelled = None
        if file:
            try:
                labelled = pd.read_csv(file)
            except (OSError, ValueError) as exc:
                fail(f"cannot read {file}: {exc}")
        with runtime() as rt, rt.transaction() as session:
            frame = evaluate_fn(session, labelled=labelled)
        _emit(frame, fmt, limit)

    @voc.command("analyse")
    def analyse(
        as_of: str = typer.Option(None, "--as-of", help="Date of the account sentiment (default today)."),
    ) -> None:
        """Analyse new or changed entries and store per-account VoC sentiment (what `kizuna refresh` does)."""
        from kizuna.voc.service import analyse_entries, store_account_sentiment

        day = _date(as_of, "--as-of") or dt.datetime.now(dt.UTC).date()
        with runtime() as rt, rt.transaction() as session:
            out = analyse_entries(session, models_dir=rt.settings.models_dir)
            out["accounts_with_sentiment"] = store_account_sentiment(session, as_of=day)
        typer.echo(", ".join(f"{k}={v}" for k, v in out.items()))
