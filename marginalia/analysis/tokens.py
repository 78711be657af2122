"""Token estimates for analyze --dry-run: tiktoken where it knows the model, else ~4 chars."""

from __future__ import annotations

import os
from collections.abc import Callable

APPROXIMATE = "approximation: 4 characters per token"


def token_counter(model: str) -> tuple[Callable[[str], int], str]:
    """(count function, how it counts). MARGINALIA_TOKENIZER=approx never loads tiktoken.

    tiktoken fetches its tables on first use; offline machines (and the tests) set
    MARGINALIA_TOKENIZER=approx so that a dry run never tries the network.
    """
    if os.environ.get("MARGINALIA_TOKENIZER", "").lower() != "approx":
        try:
            import tiktoken

            encoding = tiktoken.encoding_for_model(model)
            return (
                lambda text: len(encoding.encode(text, disallowed_special=()))
            ), f"tiktoken {encoding.name}"
        except Exception:
            pass
    return (lambda text: max(1, (len(text) + 3) // 4)), APPROXIMATE
