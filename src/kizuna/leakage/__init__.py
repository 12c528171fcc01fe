"""Revenue leakage: the MRR lost to churn and contraction, by churn reason (the VoC classification)."""
