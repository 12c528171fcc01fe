"""A deterministic, stratified cap on the churn model's samples: what a large book of business trains on.

The model's samples are accounts x past dates: hundreds of thousands on a 50,000-account book over three years,
where the boosting and, above all, the permutation test's predictions (once per feature family and repeat) cost
minutes of CPU, while the figures they feed have long stopped moving. Above a cap the same share of every (sample
date, outcome) stratum is kept, drawn with a seeded generator: each date's churn rate, and so the base rate and the
time splits, stay as they were, and the same samples with the same seed give the same cap. Below it nothing changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: most samples the churn model learns from (the booster and the inner split's fit and held-out parts together);
#: a ROC-AUC or a tree's split on 150,000 samples moves by thousandths between two such draws
MAX_SAMPLES = 150_000
#: most held-out samples the permutation test predicts once per feature family and repeat: the size its threshold
#: (``selection.MIN_AUC_DROP``, a tenth of a point) was set for, the held-out part of a few thousand accounts
MAX_PERMUTATION_SAMPLES = 15_000


def stratified_cap(
    samples: pd.DataFrame, max_samples: int | None, *, random_state: int = 0, by: tuple[str, ...] = ("as_of", "churned")
) -> pd.DataFrame:
    """At most ``max_samples`` rows of ``samples``: the same share of each stratum of ``by``, seeded.

    Each stratum keeps ``round(share x its size)`` rows (at least one), chosen by a seeded random key, in their
    original order; ``samples`` itself when it is small enough or ``max_samples`` is None. Strata are the distinct
    values of the ``by`` columns present in ``samples``.
    """
    n = len(samples)
    if max_samples is None or n <= max_samples:
        return samples
    share = max_samples / n
    keys = [c for c in by if c in samples.columns]
    rng = np.random.default_rng(random_state)
    draw = pd.Series(rng.random(n), index=samples.index)
    if keys:
        groups = samples.groupby(keys, sort=False, dropna=False)
        size = groups[keys[0]].transform("size").to_numpy()
        rank = draw.groupby([samples[k] for k in keys], sort=False, dropna=False).rank(method="first").to_numpy()
    else:
        size = np.full(n, n)
        rank = draw.rank(method="first").to_numpy()
    quota = np.maximum(1, np.rint(size * share))
    return samples[rank <= quota]
