"""Splitting an E.164 number into its country calling code and the national number, as ZapSign wants them.

ZapSign takes a signer's phone as two fields, `phone_country` ("55") and `phone_number` ("11998989222")
(docs/providers/zapsign.md §3.1). We store E.164 (`+5511998989222`), which has no separator: the split needs the list of
country calling codes. ITU-T E.164 assigns them as a prefix code (no code is the prefix of another), 1 to 3 digits
long, so the first 1, 2 or 3 digits of a number match exactly one code.

The list below is ITU-T Recommendation E.164 Annex to ITU Operational Bulletin ("List of ITU-T Recommendation E.164
assigned country codes"), including the codes for global services (800, 808, 870, 878, 881-883, 888, 979). Spare and
reserved codes are not in it, so a number starting with one is refused instead of being split wrongly.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

_CODES = """
1 7
20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86
90 91 92 93 94 95 98
211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242
243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291
297 298 299
350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386 387 389
420 421 423
500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599
670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692
800 808 850 852 853 855 856 870 878 880 881 882 883 886 888
960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 992 993 994 995 996 998
"""

COUNTRY_CALLING_CODES: Final[frozenset[str]] = frozenset(_CODES.split())
_E164: Final = re.compile(r"^\+([1-9][0-9]{6,14})$")


class SplitPhone(NamedTuple):
    country_code: str
    """Digits only, without "+": ZapSign's `phone_country`."""
    national_number: str
    """The rest of the number: ZapSign's `phone_number`."""


class InvalidPhoneError(ValueError):
    """Not an E.164 number, or one whose country calling code is not assigned. The message holds no digits."""


def split_e164(phone: str) -> SplitPhone:
    """`+34600111222` → `("34", "600111222")`; `+12025550123` → `("1", "2025550123")`."""
    match = _E164.match(phone)
    if match is None:
        raise InvalidPhoneError("not an E.164 phone number (+ and 7 to 15 digits)")
    digits = match.group(1)
    for length in (1, 2, 3):  # prefix code: at most one length matches
        if digits[:length] in COUNTRY_CALLING_CODES:
            return SplitPhone(digits[:length], digits[length:])
    raise InvalidPhoneError("the phone number's country calling code is not assigned by the ITU")
