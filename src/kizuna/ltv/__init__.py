"""Lifetime value of the customer base: sBG per plan for contracts, BG/NBD + Gamma-Gamma on payments."""
