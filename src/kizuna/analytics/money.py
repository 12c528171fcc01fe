"""Money units: the ISO 4217 minor-unit exponent of a currency (how many decimal places its minor unit has).

kizuna keeps money as integer minor units plus a currency code: JPY has no minor unit (¥1,000 is 1000), USD has
two (US$12.50 is 1250), KWD three. Imports read amounts with it and the KPIs convert between currencies with it.
"""

from __future__ import annotations

# ISO 4217 minor-unit exponents that differ from 2 (the default). JPY, KRW, VND, ... have no minor unit.
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "TWD_CASH"})
THREE_DECIMAL = frozenset({"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"})


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit: 0 for JPY, 2 for USD, 3 for KWD."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2
