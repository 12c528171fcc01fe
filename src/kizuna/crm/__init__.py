"""CRM two-way sync: HubSpot and Salesforce.

One domain with an adapter per vendor (``hubspot.py``, ``salesforce.py``) rather than two domains: what a CRM sync
does with the hub -- upsert accounts, contacts and opportunities, the ownership rule, the CS values pushed back -- is
the same for both and lives once in ``service.py``; an adapter only speaks its vendor's API through the vendor's own
client. The run log, cursors and credentials are the ``connectors`` domain's.
"""
