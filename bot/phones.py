"""Phone numbers in one form: E.164 ("+46701234567"), whatever way a provider or a person wrote them."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "SE"
_MAX_INPUT = 40


def to_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 form, or None when it is not a valid phone number.

    A number without a country code is read as a number in `region` ("070-123 45 67" -> "+46701234567").
    Short codes and alphanumeric senders are not valid numbers here: nobody can answer them by SMS.
    """
    if not raw or len(raw) > _MAX_INPUT:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """For logs below INFO and for staff screens: the country code and the last two digits only."""
    if len(e164) < 6:
        return "***"
    return f"{e164[:3]}{'*' * (len(e164) - 5)}{e164[-2:]}"
