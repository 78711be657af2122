"""The date an article was published, chosen among the dates its page offers.

A page carries several dates and not all are the article's: a WebSite or Organization
block's datePublished is the site's (those are never read), a meta tag may be left from
the page a template was copied from, a second article block may be a related story's.
The sources, most trusted first:

1. the date in the article's address (`/2025/03/07/`, `2017/7/12`, `20250307`), set once
   when the article went up; an address with a year and month only (`/2025/03/`) is a
   check, not a date;
2. `datePublished` of the page's article-typed JSON-LD block (extract chooses it);
3. the publication meta tags (`article:published_time` and the like);
4. htmldate's reading of the whole page (run by trafilatura with original_date=True).

The date written is the first of 2-4 that agrees with the address (within two days, or
within its month), with its time and zone as the page states them; when nothing agrees,
the address's date alone if it names a day, else the first of 2-4; with no date in the
address, the first of 2-4 there is. When a source is more than two days off the chosen
date, the choice is explained in one line.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import unquote, urlsplit

AGREE_DAYS = 2  # sources this close are one date read two ways (zones, late edits)
_ADDRESS_DATE = re.compile(
    r"(?<![0-9])(?P<year>(?:19|20)[0-9]{2})"
    # /2017/7/12/, 2025-03-07, 2023-11/17, /2025/03/ ...
    r"(?:[-/_](?P<month>1[0-2]|0?[1-9])(?:[-/_](?P<day>[12][0-9]|3[01]|0?[1-9]))?"
    # ... or 20250307, 202311/17
    r"|(?P<month2>0[1-9]|1[0-2])(?:/?(?P<day2>0[1-9]|[12][0-9]|3[01]))?)"
    r"(?![0-9])"
)


@dataclass(frozen=True)
class Source:
    """One date a page offers for its article, named as the explaining line names it."""

    name: str
    moment: datetime | date


@dataclass(frozen=True)
class Dated:
    moment: datetime | date
    note: str | None  # why, when the sources disagreed


@dataclass(frozen=True)
class Span:
    """The days an address's date allows: one day, or a whole month."""

    first: date
    last: date

    def admits(self, moment: datetime | date) -> bool:
        slack = timedelta(days=AGREE_DAYS)
        return self.first - slack <= day_of(moment) <= self.last + slack

    def text(self) -> str:
        return self.first.isoformat() if self.first == self.last else self.first.isoformat()[:7]


def day_of(moment: datetime | date) -> date:
    """The calendar day as the page wrote it, in its own zone (00:16 at +03:00 is that day)."""
    return moment.date() if isinstance(moment, datetime) else moment


def choose_date(address: str | None, sources: list[Source]) -> Dated | None:
    """The article's date from its address and the other sources (most trusted first);
    None if there is none at all."""
    span = address_span(address)
    agreeing = [source for source in sources if span and span.admits(source.moment)]
    if agreeing:
        chosen, why = agreeing[0], " (its address agrees)"
    elif span is not None and span.first == span.last:
        chosen, why = Source("its address", span.first), ""
    elif sources:
        chosen, why = sources[0], ""
    else:
        return None
    chosen_day = day_of(chosen.moment)
    near = Span(chosen_day, chosen_day)
    set_aside = [
        f"{s.name} {day_of(s.moment).isoformat()}" for s in sources if not near.admits(s.moment)
    ]
    if span is not None and not span.admits(chosen.moment):
        set_aside.insert(0, f"its address {span.text()}")
    if not set_aside:
        return Dated(chosen.moment, None)
    return Dated(
        chosen.moment,
        f"dated {chosen_day.isoformat()} by {chosen.name}{why}; set aside as more than "
        f"{AGREE_DAYS} days off: {', '.join(set_aside)}",
    )


def address_span(address: str | None) -> Span | None:
    """The date in an article's address (its path), if it has one that is a real day or
    month, not in the future."""
    if not address:
        return None
    path = unquote(urlsplit(address).path)
    for match in _ADDRESS_DATE.finditer(path):
        year, month = int(match["year"]), int(match["month"] or match["month2"])
        day = int(match["day"] or match["day2"] or 0) or None
        last_day = calendar.monthrange(year, month)[1]
        if day is not None and day > last_day:
            continue
        span = Span(date(year, month, day or 1), date(year, month, day or last_day))
        if span.first <= date.today():
            return span
    return None
