"""Customer lifetime value: retention, repeat-purchase and spend models, and RFM analysis.

Contractual (subscriptions, renewals observed)
    :class:`ShiftedBetaGeometric` (Fader & Hardie 2007) with DEL/DERL valuation (Fader & Hardie 2010);
    :func:`fit_sbg_by_cohort` fits one per cohort of a tidy survival table.
Non-contractual (purchases observed, churn not)
    :class:`BetaGeoNBD` (Fader, Hardie & Lee 2005), :class:`ParetoNBD` (Schmittlein, Morrison & Colombo 1987)
    and the spend model :class:`GammaGamma` (Fader, Hardie & Lee 2005) with discounted CLV.
Data preparation and segmentation
    :func:`rfm_summary` (transaction log to frequency/recency/T/monetary value), :func:`rfm_scores` (quintile
    scores and named segments).

All models follow the scikit-learn shape: ``fit`` returns ``self``, fitted attributes end in ``_``
(``params_``, ``standard_errors_``, ``log_likelihood_``), and ``predict_*`` methods are vectorised and batched.
See docs/ltv.md for formulas, sources and benchmarks.
"""

from kizuna.analytics.ltv._base import NotFittedError
from kizuna.analytics.ltv._validation import ConvergenceWarning, InvalidInput
from kizuna.analytics.ltv.beta_geo import BetaGeoNBD
from kizuna.analytics.ltv.gamma_gamma import GammaGamma
from kizuna.analytics.ltv.pareto_nbd import ParetoNBD
from kizuna.analytics.ltv.rfm import RFM_SEGMENTS, rfm_scores, rfm_segment, rfm_summary
from kizuna.analytics.ltv.shifted_beta_geometric import (
    SBG_NO_SPREAD,
    ShiftedBetaGeometric,
    fit_sbg_by_cohort,
    sbg_fit_problems,
)

__all__ = [
    "RFM_SEGMENTS",
    "SBG_NO_SPREAD",
    "BetaGeoNBD",
    "ConvergenceWarning",
    "GammaGamma",
    "InvalidInput",
    "NotFittedError",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "fit_sbg_by_cohort",
    "rfm_scores",
    "rfm_segment",
    "rfm_summary",
    "sbg_fit_problems",
]
