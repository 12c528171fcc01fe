"""Counting analyses: term and document frequency by group, emerging terms, KWIC and collocations,
characteristic words per group and correspondence analysis."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from kizuna.analytics.text._errors import InvalidInput
from kizuna.analytics.text.corpus import Corpus
from kizuna.analytics.text.lexicon import NEG

__all__ = [
    "CorrespondenceAnalysis",
    "characteristic_words",
    "collocations",
    "correspondence_analysis",
    "correspondence_analysis_table",
    "emerging_terms",
    "kwic",
    "log_likelihood_2x2",
    "term_frequency",
]


def term_frequency(
    corpus: Corpus,
    *,
    by: str | Sequence[Any] | None = None,
    min_df: int = 1,
    strip_neg: bool = False,
) -> pd.DataFrame:
    """Term frequency (``tf``: occurrences) and document frequency (``df``: texts containing the term), overall
    or per group.

    ``by`` is a metadata column (channel, segment, plan, period, ...) or values aligned with the texts. Returns
    ``[group,] term, tf, df, df_share`` (df divided by the group's number of texts), sorted by group then
    descending df; terms with ``df < min_df`` in their group are dropped.
    """
    groups = corpus.group_values(by) if by is not None else pd.Series(["all"] * len(corpus))
    counts = corpus.term_counts(strip_neg=strip_neg)  # (kept with the corpus: counted once for every analysis)
    rows = []
    for g, idx in groups.groupby(groups, sort=True, dropna=False).groups.items():
        members = np.sort(np.asarray(idx, dtype=np.int64))
        part = counts if len(members) == len(corpus) else counts.rows(members, len(corpus))
        tf = np.bincount(part.term, weights=part.count, minlength=len(part.vocabulary)).astype(np.int64)
        df = np.bincount(part.term, minlength=len(part.vocabulary))
        n_docs = len(idx)
        for j in np.flatnonzero((df >= min_df) & (df > 0)).tolist():
            d = int(df[j])
            rows.append((g, part.vocabulary[j], int(tf[j]), d, d / n_docs))
    out = pd.DataFrame(rows, columns=["group", "term", "tf", "df", "df_share"])
    out = out.sort_values(["group", "df", "tf", "term"], ascending=[True, False, False, True]).reset_index(drop=True)
    return out if by is not None else out.drop(columns=["group"])


def log_likelihood_2x2(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Dunning's log-likelihood ratio G² of 2×2 tables [[a, b], [c, d]] (vectorised).

    Dunning (1993), "Accurate methods for the statistics of surprise and coincidence", Computational
    Linguistics 19(1), eq. for -2 log λ; equals ``scipy.stats.chi2_contingency(..., lambda_="log-likelihood")``
    without continuity correction.
    """
    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    n = a + b + c + d
    obs = [a, b, c, d]
    rows = [a + b, a + b, c + d, c + d]
    cols = [a + c, b + d, a + c, b + d]
    g2 = np.zeros_like(n)
    for o, r, k in zip(obs, rows, cols, strict=True):
        e = r * k / np.where(n > 0, n, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            g2 += np.where(o > 0, o * np.log(o / e), 0.0)
    statistic: np.ndarray = 2 * g2
    return statistic


def emerging_terms(
    corpus: Corpus,
    *,
    period: str,
    current: Any = None,
    previous: Any = None,
    min_df: int = 3,
    strip_neg: bool = False,
) -> pd.DataFrame:
    """Terms rising in period ``current`` against ``previous`` (default: the last two values of ``period``).

    Counts texts mentioning each term (document frequency) in both periods and ranks by the signed
    log-likelihood G² of the 2×2 table (term present / absent × current / previous); ``p_value`` from χ²(1).
    Returns ``term, df_current, df_previous, share_current, share_previous, ratio, g2, p_value, rising``
    sorted with the strongest risers first. ``ratio`` uses add-0.5 smoothing.
    """
    values = corpus.group_values(period)
    levels = sorted(values.dropna().unique())
    if current is None or previous is None:
        if len(levels) < 2:
            raise InvalidInput(f"emerging_terms needs at least two values in {period!r}, found {levels}")
        current = levels[-1] if current is None else current
        previous = levels[levels.index(current) - 1] if previous is None else previous
    cur_mask = (values == current).to_numpy()
    prev_mask = (values == previous).to_numpy()
    if not cur_mask.any() or not prev_mask.any():
        raise InvalidInput(f"no texts for period {current!r} or {previous!r} in column {period!r}")
    docs = corpus.terms(strip_neg=strip_neg)
    df_cur: Counter[str] = Counter()
    df_prev: Counter[str] = Counter()
    for i, d in enumerate(docs):
        if cur_mask[i]:
            df_cur.update(set(d))
        elif prev_mask[i]:
            df_prev.update(set(d))
    n_cur, n_prev = int(cur_mask.sum()), int(prev_mask.sum())
    terms = sorted(t for t in set(df_cur) | set(df_prev) if df_cur[t] + df_prev[t] >= min_df)
    a = np.array([df_cur[t] for t in terms], dtype=float)
    b = np.array([df_prev[t] for t in terms], dtype=float)
    g2 = log_likelihood_2x2(a, b, n_cur - a, n_prev - b)
    share_cur, share_prev = a / n_cur, b / n_prev
    rising = share_cur > share_prev
    out = pd.DataFrame(
        {
            "term": terms,
            "df_current": a.astype(int),
            "df_previous": b.astype(int),
            "share_current": share_cur,
            "share_previous": share_prev,
            "ratio": ((a + 0.5) / (n_cur + 0.5)) / ((b + 0.5) / (n_prev + 0.5)),
            "g2": np.where(rising, g2, -g2),
            "p_value": stats.chi2.sf(g2, 1),
            "rising": rising,
        }
    )
    return out.sort_values(["g2", "term"], ascending=[False, True]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ KWIC
def _matches(term: str, query: str) -> bool:
    return term == query or (not query.endswith(NEG) and term == query + NEG)


def kwic(corpus: Corpus, term: str, *, width: int = 20, include_negated: bool = True) -> pd.DataFrame:
    """Keyword in context: every occurrence of ``term`` with ``width`` characters of text either side.

    ``include_negated`` also finds ``term+NEG`` (使いやすい finds 使いやすくない). Returns
    ``doc_id, sentence_no, left, keyword, right, negated, term`` in text order; ``keyword`` is the text as
    written (使いやすく), ``term`` the kizuna term.
    """
    query = term if term.isascii() is False else term.lower()
    rows = []
    for doc_id, doc in zip(corpus.doc_ids, corpus.texts, strict=True):
        s_no = 0
        for k, t in enumerate(doc.terms):
            if t == query or (include_negated and _matches(t, query)):
                while s_no + 1 < len(doc.sentences) and doc.sentences[s_no].term_end <= k:
                    s_no += 1
                b, e = doc.starts[k], doc.ends[k]
                rows.append(
                    (
                        doc_id,
                        s_no,
                        doc.text[max(0, b - width) : b],
                        doc.text[b:e],
                        doc.text[e : e + width],
                        t.endswith(NEG),
                        t,
                    )
                )
    return pd.DataFrame(rows, columns=["doc_id", "sentence_no", "left", "keyword", "right", "negated", "term"])


def collocations(
    corpus: Corpus, term: str, *, window: int = 5, min_count: int = 2, include_negated: bool = True
) -> pd.DataFrame:
    """Terms found within ``window`` terms of ``term`` in the same sentence, with association scores.

    Returns ``collocate, left, right, count, expected, mi, t_score, log_likelihood`` sorted by log-likelihood.
    Scores follow Church & Hanks (1990) (MI = log2(O/E)), the t-score (O−E)/√O, and Dunning's G² over the 2×2
    table of window positions (collocate / other term × inside / outside the windows). Corpus size N is the
    number of term tokens; E = f(collocate) × span / N with span = total window positions around the node.
    """
    query = term if not term.isascii() else term.lower()
    left: Counter[str] = Counter()
    right: Counter[str] = Counter()
    freq: Counter[str] = Counter()
    span = 0
    for doc in corpus.texts:
        terms = doc.terms
        freq.update(terms)
        for s in doc.sentences:
            for k in range(s.term_start, s.term_end):
                t = terms[k]
                if t == query or (include_negated and _matches(t, query)):
                    lo, hi = max(s.term_start, k - window), min(s.term_end, k + window + 1)
                    span += hi - lo - 1
                    left.update(terms[lo:k])
                    right.update(terms[k + 1 : hi])
    n_tokens = sum(freq.values())
    rows = []
    for c in set(left) | set(right):
        o = left[c] + right[c]
        if o < min_count or c == query or (include_negated and _matches(c, query)):
            continue
        e = freq[c] * span / max(n_tokens, 1)
        rows.append((c, left[c], right[c], o, e))
    out = pd.DataFrame(rows, columns=["collocate", "left", "right", "count", "expected"])
    if out.empty:
        return out.assign(mi=[], t_score=[], log_likelihood=[])
    o = out["count"].to_numpy(float)
    e = out["expected"].to_numpy(float)
    f = np.array([freq[c] for c in out["collocate"]], dtype=float)
    out["mi"] = np.log2(o / np.maximum(e, 1e-12))
    out["t_score"] = (o - e) / np.sqrt(o)
    out["log_likelihood"] = log_likelihood_2x2(o, span - o, f - o, n_tokens - span - f + o)
    return out.sort_values(["log_likelihood", "collocate"], ascending=[False, True]).reset_index(drop=True)


# ---------------------------------------------------------------------------------- characteristic words
def characteristic_words(
    corpus: Corpus,
    *,
    by: str | Sequence[Any],
    top_n: int = 20,
    min_df: int = 2,
    statistic: str = "log_likelihood",
    strip_neg: bool = False,
) -> pd.DataFrame:
    """Words that characterise each group against the rest (churned vs retained, detractors vs promoters, plan).

    For each group and term the 2×2 document table (in group / not × has term / not) gives: ``jaccard``
    (KH Coder's 特徴語 measure: df_in_group / (n_group + df_term − df_in_group)), ``log_likelihood`` (Dunning G²),
    ``chi2`` (Pearson, no continuity correction) and ``p_value``. Only over-represented terms are kept. Ranked
    by ``statistic`` (one of those three); returns ``group, rank, term, df_group, df_other, share_group,
    share_other, jaccard, log_likelihood, chi2, p_value``.
    """
    if statistic not in ("log_likelihood", "chi2", "jaccard"):
        raise InvalidInput(f"statistic must be 'log_likelihood', 'chi2' or 'jaccard', got {statistic!r}")
    groups = corpus.group_values(by)
    matrix, vocab = corpus.document_term_matrix(min_df=min_df, strip_neg=strip_neg)
    df_total = np.asarray(matrix.sum(axis=0)).ravel().astype(float)
    n = len(corpus)
    frames = []
    for g in sorted(groups.dropna().unique(), key=str):
        mask = (groups == g).to_numpy()
        n_g = mask.sum()
        a = np.asarray(matrix[mask].sum(axis=0)).ravel().astype(float)
        b = df_total - a
        c, d = n_g - a, (n - n_g) - b
        g2 = log_likelihood_2x2(a, b, c, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
        chi2 = np.nan_to_num(chi2)
        share_g = a / max(n_g, 1)
        share_o = b / max(n - n_g, 1)
        over = (share_g > share_o) & (a > 0)
        frame = pd.DataFrame(
            {
                "group": g,
                "term": np.array(vocab, dtype=object),
                "df_group": a.astype(int),
                "df_other": b.astype(int),
                "share_group": share_g,
                "share_other": share_o,
                "jaccard": a / (n_g + df_total - a),
                "log_likelihood": g2,
                "chi2": chi2,
                "p_value": stats.chi2.sf(g2, 1),
            }
        )[over]
        frame = frame.sort_values([statistic, "term"], ascending=[False, True]).head(top_n)
        frame.insert(1, "rank", np.arange(1, len(frame) + 1))
        frames.append(frame)
    cols = [
        "group",
        "rank",
        "term",
        "df_group",
        "df_other",
        "share_group",
        "share_other",
        "jaccard",
        "log_likelihood",
        "chi2",
        "p_value",
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


# ------------------------------------------------------------------------------ correspondence analysis
@dataclass
class CorrespondenceAnalysis:
    """Result of a correspondence analysis: coordinates in principal axes.

    ``rows`` (terms) and ``columns`` (groups) hold principal coordinates ``dim1..dimK`` plus ``mass``;
    ``inertia`` has the principal inertia (eigenvalue) and the share of total inertia of each dimension.
    """

    rows: pd.DataFrame
    columns: pd.DataFrame
    inertia: pd.DataFrame
    total_inertia: float


def correspondence_analysis_table(table: pd.DataFrame, n_components: int = 2) -> CorrespondenceAnalysis:
    """Simple correspondence analysis of a contingency table (rows × columns of counts), by SVD.

    Greenacre (2007), *Correspondence Analysis in Practice*, ch. 2 and appendix A: with P = N/n, masses r, c,
    standardised residuals S = D_r^-1/2 (P − r cᵀ) D_c^-1/2 = U Σ Vᵀ; principal coordinates F = D_r^-1/2 U Σ
    (rows) and G = D_c^-1/2 V Σ (columns); principal inertias are Σ².
    """
    n_arr = table.to_numpy(dtype=float)
    if n_arr.ndim != 2 or n_arr.shape[0] < 2 or n_arr.shape[1] < 2:
        raise InvalidInput("correspondence analysis needs a table of at least 2 rows and 2 columns")
    total = n_arr.sum()
    if total <= 0:
        raise InvalidInput("correspondence analysis needs a table with positive counts")
    p = n_arr / total
    r = p.sum(axis=1)
    c = p.sum(axis=0)
    keep_r, keep_c = r > 0, c > 0
    p, r, c = p[keep_r][:, keep_c], r[keep_r], c[keep_c]
    s = (p - np.outer(r, c)) / np.sqrt(np.outer(r, c))
    u, sigma, vt = np.linalg.svd(s, full_matrices=False)
    k = min(n_components, len(sigma) - 1 if len(sigma) > 1 else 1)
    # fix the sign of each axis so results do not flip between LAPACK builds
    signs = np.sign(u[np.abs(u).argmax(axis=0), range(u.shape[1])])
    signs[signs == 0] = 1
    u, vt = u * signs, (vt.T * signs).T
    f = (u[:, :k] * sigma[:k]) / np.sqrt(r)[:, None]
    g = (vt.T[:, :k] * sigma[:k]) / np.sqrt(c)[:, None]
    dims = [f"dim{i + 1}" for i in range(k)]
    eig = sigma**2
    total_inertia = float(eig.sum())
    rows = pd.DataFrame(f, columns=dims, index=table.index[keep_r])
    rows["mass"] = r
    cols = pd.DataFrame(g, columns=dims, index=table.columns[keep_c])
    cols["mass"] = c
    inertia = pd.DataFrame(
        {
            "dimension": [f"dim{i + 1}" for i in range(len(eig))],
            "inertia": eig,
            "share": eig / total_inertia if total_inertia > 0 else eig,
        }
    )
    return CorrespondenceAnalysis(rows=rows, columns=cols, inertia=inertia, total_inertia=total_inertia)


def correspondence_analysis(
    corpus: Corpus,
    *,
    by: str | Sequence[Any],
    top_terms: int = 60,
    min_df: int = 3,
    n_components: int = 2,
    strip_neg: bool = False,
) -> CorrespondenceAnalysis:
    """Correspondence analysis of terms × groups (document frequencies), KH Coder's 対応分析.

    The ``top_terms`` terms with the highest document frequency (and at least ``min_df``) are the rows; the
    groups of ``by`` are the columns. See :func:`correspondence_analysis_table` for the method.
    """
    groups = corpus.group_values(by)
    matrix, vocab = corpus.document_term_matrix(min_df=min_df, strip_neg=strip_neg)
    if not vocab:
        raise InvalidInput(f"no term reaches min_df={min_df}")
    df_total = np.asarray(matrix.sum(axis=0)).ravel()
    order = np.lexsort((np.array(vocab), -df_total))[:top_terms]
    levels = sorted(groups.dropna().unique(), key=str)
    table = pd.DataFrame(
        {g: np.asarray(matrix[(groups == g).to_numpy()][:, order].sum(axis=0)).ravel() for g in levels},
        index=pd.Index([vocab[i] for i in order], name="term"),
    )
    return correspondence_analysis_table(table, n_components=n_components)
