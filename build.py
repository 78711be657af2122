"""Entry point: python build.py [command] (see README)."""

from marginalia.cli import main

raise SystemExit(main())
