"""serve: the writing loop. Build, serve site/ as GitHub Pages would, rebuild on every
save, reload the browser, make the search index in the background.

- loop.py: the main loop (settle, rebuild, publish, index) and Ctrl-C handling;
- watch.py: when the inputs changed and have settled (watchdog);
- live.py: the site kept in memory between rebuilds, and the fast path for text edits;
- search_index.py: the Pagefind run after the reload, and which bundle may be served;
- http.py: what the browser sees (Pages' rules, live reload, the error overlay).
"""

from .loop import ServeOptions, serve

__all__ = ["ServeOptions", "serve"]
