"""Dates in words, as readers of a language write them: Babel's CLDR data, not month
tables of our own.

The theme's English is day, month, year ("20 June 2024, 16:00 UTC+02:00"), so `en` is
written as British English; `en-US` and every other language as their own locale does.
The time zone is written the same in every language, as an offset from UTC. Each
language's patterns are made once per process: a build formats tens of thousands of
dates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from babel.dates import DateTimePattern, parse_pattern

DEFAULT_LANGUAGE = "en"
_LOCALE_OF = {"en": "en-GB"}  # the theme's English (see the docstring)
_ZONE = " 'UTC'xxx"  # UTC+02:00, UTC+00:00


@dataclass(frozen=True)
class DateStyle:
    """One language's ways of writing a day, a moment and a month."""

    locale: Locale
    day: DateTimePattern  # 20 June 2024
    moment: DateTimePattern  # 20 June 2024, 16:00 UTC+02:00
    month: DateTimePattern  # June (standing alone, as in a list of months)
    month_of_year: DateTimePattern  # June 2024
    day_of_month: DateTimePattern  # 20 Jun

    def human_date(self, moment: date) -> str:
        return self.day.apply(moment, self.locale)

    def human_datetime(self, moment: datetime) -> str:
        return self.moment.apply(moment, self.locale)

    def month_name(self, month: int) -> str:
        return self.month.apply(date(2000, month, 1), self.locale)

    def human_month(self, year: int, month: int) -> str:
        return self.month_of_year.apply(date(year, month, 1), self.locale)

    def short_date(self, moment: date) -> str:
        return self.day_of_month.apply(moment, self.locale)


@functools.cache
def _style(language: str) -> DateStyle | None:
    try:
        locale = Locale.parse(_LOCALE_OF.get(language.lower(), language), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    day = locale.date_formats["long"].pattern
    glue = locale.datetime_formats["medium"]  # "{1}, {0}": the date, then the time
    time = locale.time_formats["short"].pattern
    moment = glue.replace("{1}", day).replace("{0}", time) + _ZONE
    skeletons = locale.datetime_skeletons
    return DateStyle(
        locale,
        parse_pattern(day),
        parse_pattern(moment),
        parse_pattern("LLLL"),
        parse_pattern(skeletons["yMMMM"].pattern if "yMMMM" in skeletons else "LLLL y"),
        parse_pattern(skeletons["MMMd"].pattern if "MMMd" in skeletons else "d MMM"),
    )


def is_known(language: str) -> bool:
    """Whether dates can be written in this language (a BCP 47 tag: `de`, `pt-BR`)."""
    return _style(language) is not None


def unknown_language(language: str, instead: str) -> str | None:
    """The warning for a language whose dates Babel cannot write (None: it can), saying
    in what they are written `instead`."""
    if is_known(language):
        return None
    return f"language {language!r} is not one whose dates Babel can write: they are written in {instead}"


def style(language: str | None, fallback: str = DEFAULT_LANGUAGE) -> DateStyle:
    """The language's date style; the fallback's (else English's) for a language that
    Babel does not know, or for none."""
    found = _style(language or fallback) or _style(fallback) or _style(DEFAULT_LANGUAGE)
    assert found is not None  # Babel knows English
    return found
