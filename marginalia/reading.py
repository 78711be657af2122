"""Reading time: how many minutes an article's body takes to read, from its Markdown.

Computed once, when the file is parsed (the parsed record is cached between builds), so
that pages and lists only print a number. Words are what white space separates (a link's
target stays glued to its text, so it is not counted apart). Chinese and Japanese are
written without spaces between words: their characters are counted and read at their own
pace; Korean, which spaces its words, is counted by words.
"""

from __future__ import annotations

import re

WORDS_PER_MINUTE = 230  # adults reading news silently, in English and other alphabets
CJ_CHARACTERS_PER_MINUTE = 350  # in Chinese and Japanese (Trauzettel-Klosinski et al., 2012)

_CJ = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJ_CHARACTER = re.compile(f"[{_CJ}]")  # kana and Han ideographs
_CJ_TEXT = re.compile(f"[{_CJ}\u3000-\u303f\uff00-\uffef]+")  # and their punctuation


def reading_minutes(markdown: str) -> int:
    """Whole minutes to read the text, at least one."""
    if markdown.isascii():  # most articles: the quick way
        words, characters = len(markdown.split()), 0
    else:
        characters = len(_CJ_CHARACTER.findall(markdown))
        words = len(_CJ_TEXT.sub(" ", markdown).split())
    return max(1, round(words / WORDS_PER_MINUTE + characters / CJ_CHARACTERS_PER_MINUTE))
