"""Capturing articles from the web into content/ (`import`, design §9).

Owns everything between a URL (or a saved .html file, or a feed) and a new article file:
polite fetching (`fetch`), the source URL a page is known by (`urls`), the article and its
metadata out of the HTML (`extract`), RSS/Atom feeds (`feed`), the new file and the
archive's duplicate check (`write`), and the run that ties them together (`run`).
"""

DEFAULT_TIMEOUT = 20.0  # seconds a page may take before it is given up on
