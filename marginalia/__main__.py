"""python -m marginalia [command]"""

from .cli import main

raise SystemExit(main())
