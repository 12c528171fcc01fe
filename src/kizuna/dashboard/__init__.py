"""The portfolio dashboard: ARR, NRR, GRR, logo churn, MRR movements, health, risk, renewals, onboarding, NPS."""
