"""Connectors: what every link to an outside system shares (billing, CRM, chat, mail).

Each vendor is a domain of its own (``kizuna.stripe``, ``kizuna.hubspot`` ...) that turns the vendor's objects into
hub rows; this domain keeps what they have in common: credentials kept out of logs, the run log of every sync
(counts and rejects, like an import), the vendor events already received (so a webhook delivered twice, or late,
acts once) and the cursors an incremental sync resumes from. ``/connectors`` shows their status. The billing
connectors (Stripe, Chargebee) write contract-line versions, coupons and payments through ``connectors.lines``.
"""
