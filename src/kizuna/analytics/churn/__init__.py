"""Churn outcomes: who churned when (point-in-time labels), and how well a ranking of accounts finds them
(ROC-AUC, lift, calibration). Shared by the health-score backtest and the churn-risk model."""
