"""Days people name instead of dates: "Christmas", "Easter Monday", "Thanksgiving".

Fixed days are the same everywhere; the movable ones follow their rule (Easter from
``dateutil.easter``, "the second Monday of October"), and a few are kept on different
days in different countries, which the user's time zone tells (from the time-zone
database's own ``zone.tab``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache
from importlib import resources

from dateutil.easter import easter
from dateutil.relativedelta import MO, SU, TH, relativedelta

_FIXED = {
    "new year's eve": (12, 31), "nye": (12, 31), "new year's day": (1, 1),
    "christmas eve": (12, 24), "christmas day": (12, 25), "christmas": (12, 25),
    "xmas": (12, 25), "boxing day": (12, 26), "halloween": (10, 31),
    "valentine's day": (2, 14), "st patrick's day": (3, 17), "canada day": (7, 1),
    "independence day": (7, 4), "fourth of july": (7, 4), "australia day": (1, 26),
    "anzac day": (4, 25), "bonfire night": (11, 5), "guy fawkes night": (11, 5),
    "remembrance day": (11, 11), "veterans day": (11, 11),
}  # fmt: skip
_EASTER = {"easter": 0, "easter sunday": 0, "good friday": -2, "easter monday": 1}
# The n-th weekday of a month (n < 0 counts from the month's end), per country.
_NTH: dict[str, dict[str, tuple[int, int, object]]] = {
    "thanksgiving": {"CA": (10, 2, MO), "": (11, 4, TH)},
    "mother's day": {"GB": (0, 0, None), "": (5, 2, SU)},  # GB: Mothering Sunday, below
    "father's day": {"AU": (9, 1, SU), "NZ": (9, 1, SU), "": (6, 3, SU)},
    "labor day": {"": (9, 1, MO)},
    "labour day": {"": (9, 1, MO)},
    "memorial day": {"": (5, -1, MO)},
    "martin luther king day": {"": (1, 3, MO)},
    "mlk day": {"": (1, 3, MO)},
    "presidents day": {"": (2, 3, MO)},
}
# Kept only in some countries; elsewhere the day is asked, not guessed.
_ONLY_IN = {
    "victoria day": {"CA"}, "canada day": {"CA"}, "thanksgiving": {"US", "CA"},
    "independence day": {"US"}, "fourth of july": {"US"}, "memorial day": {"US"},
    "martin luther king day": {"US"}, "mlk day": {"US"}, "presidents day": {"US"},
    "labor day": {"US", "CA"}, "labour day": {"US", "CA"}, "veterans day": {"US"},
    "australia day": {"AU"}, "anzac day": {"AU", "NZ"}, "bonfire night": {"GB"},
    "guy fawkes night": {"GB"},
}  # fmt: skip
_NAMES = sorted([*_FIXED, *_EASTER, *_NTH, "victoria day"], key=len, reverse=True)
# As said: "valentines day", "new years eve", "mothers day" without the apostrophe too.
HOLIDAY = r"(?:" + "|".join(re.escape(n).replace("'", "'?") for n in _NAMES) + r")"


@cache
def _countries() -> dict[str, str]:
    """Time zone name → ISO country code, from the time-zone database."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    found = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            found[zone] = country
    return found


# Old names kept as links in the time-zone database (its "backward" file, which the
# tzdata package does not ship), for the countries whose holidays differ.
_OLD_NAMES = {
    "Canada/": "CA", "US/": "US", "Australia/": "AU", "NZ": "NZ", "GB": "GB", "Eire": "IE",
    "Europe/Belfast": "GB", "America/Montreal": "CA", "America/Nipigon": "CA",
    "America/Thunder_Bay": "CA", "America/Rainy_River": "CA", "America/Yellowknife": "CA",
}  # fmt: skip


@cache
def country_of(zone: str) -> str:
    """The country of a time zone, "" if none is known ("UTC")."""
    found = _countries().get(zone)
    if found is not None:
        return found
    return next((c for old, c in _OLD_NAMES.items() if zone.startswith(old)), "")


def _key(name: str) -> str:
    name = " ".join(name.lower().replace("’", "'").split())
    return re.sub(r"\b(new year|valentine|patrick|mother|father)s?\b(?!')", r"\1's", name)


def holiday_in(name: str, year: int, zone: str | None = None) -> date | None:
    """The day ``name`` falls on in ``year`` where ``zone`` is; None if unknown there."""
    key = _key(name)
    country = country_of(zone) if zone else ""
    if key in _ONLY_IN and country and country not in _ONLY_IN[key]:
        return None  # not kept there: which day is meant is for the user to say
    if key in _FIXED:
        return date(year, *_FIXED[key])
    if key in _EASTER:
        return easter(year) + timedelta(days=_EASTER[key])
    if key == "victoria day":  # the Monday before May 25
        return date(year, 5, 24) + relativedelta(weekday=MO(-1))
    rules = _NTH.get(key)
    if rules is None:
        return None
    country = country_of(zone or "")
    month, nth, weekday = rules.get(country, rules[""])
    if key == "mother's day" and month == 0:
        return easter(year) - timedelta(weeks=3)  # Mothering Sunday
    if nth < 0:
        first_of_next = date(year, month, 1) + relativedelta(months=1)
        return first_of_next + relativedelta(days=-1, weekday=weekday(-1))  # type: ignore[operator]
    return date(year, month, 1) + relativedelta(weekday=weekday(nth))  # type: ignore[operator]


def next_holiday(name: str, today: date, zone: str | None = None) -> date | None:
    """The next time ``name`` comes (today included)."""
    found = holiday_in(name, today.year, zone)
    if found is not None and found < today:
        found = holiday_in(name, today.year + 1, zone)
    return found
