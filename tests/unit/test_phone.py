"""Splitting E.164 numbers into ZapSign's `phone_country` and `phone_number`."""

from __future__ import annotations

import pytest

from signbridge.domain.phone import COUNTRY_CALLING_CODES, InvalidPhoneError, SplitPhone, split_e164


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+12025550123", SplitPhone("1", "2025550123")),  # NANP: one digit
        ("+79161234567", SplitPhone("7", "9161234567")),  # Russia / Kazakhstan: one digit
        ("+34600111222", SplitPhone("34", "600111222")),  # Spain: two digits
        ("+5511998989222", SplitPhone("55", "11998989222")),  # Brazil: two digits
        ("+351912345678", SplitPhone("351", "912345678")),  # Portugal: three digits
        ("+5215512345678", SplitPhone("52", "15512345678")),  # Mexico: "521" is not a code, "52" is
        ("+97150123456", SplitPhone("971", "50123456")),  # UAE: three digits starting with 9
        ("+8801712345678", SplitPhone("880", "1712345678")),  # Bangladesh: 88x, where 88 alone is not a code
    ],
)
def test_a_number_splits_at_its_country_calling_code(phone: str, expected: SplitPhone) -> None:
    # Given an E.164 number, When it is split, Then the country code is the ITU-assigned prefix and the rest follows
    assert split_e164(phone) == expected


def test_the_codes_form_a_prefix_code() -> None:
    # Given the ITU list, Then no code is the start of another (so at most one length can match a number)
    clashes = [(a, b) for a in COUNTRY_CALLING_CODES for b in COUNTRY_CALLING_CODES if a != b and b.startswith(a)]
    assert clashes == []
    assert all(1 <= len(code) <= 3 and code.isdigit() for code in COUNTRY_CALLING_CODES)


@pytest.mark.parametrize("phone", ["34600111222", "+0600111222", "+34 600 111 222", "+123", ""])
def test_what_is_not_e164_is_refused_without_echoing_the_digits(phone: str) -> None:
    # Given something that is not an E.164 number, When it is split, Then it is refused and the message holds no digits
    with pytest.raises(InvalidPhoneError) as refused:
        split_e164(phone)
    digits = "".join(char for char in phone if char.isdigit())
    assert not digits or digits not in str(refused.value)


def test_an_unassigned_country_code_is_refused() -> None:
    # Given a number starting with a spare code (+28x is unassigned), When it is split, Then it is refused
    with pytest.raises(InvalidPhoneError, match="not assigned") as refused:
        split_e164("+28123456789")
    assert "28123456789" not in str(refused.value)
