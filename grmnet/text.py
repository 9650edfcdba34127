"""The one tokenizer of referring expressions (torch-free: the app's query bar uses it too).

What a person types is normalised first: accents folded ("thé" -> "the"), terminal escape sequences and
control characters dropped, case folded. Words are runs of ASCII letters; digits are words of their own
("2 cats" -> ["2", "cats"]) so the count rule and the language model can read them.
"""
from __future__ import annotations

import functools
import re
import unicodedata

_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_WORD = re.compile(r"[a-z]+|[0-9]+")


@functools.lru_cache(maxsize=4096)
def normalize_expression(expression: str) -> str:
    """Accents folded, escape sequences and control characters removed, lower case; words stay apart. (Memoised:
    one query reads its expression's words a few dozen times.)"""
    text = _ANSI_ESCAPE.sub(" ", expression)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in text if not unicodedata.combining(c))
    return text.lower()


def tokenize(expression: str) -> list[str]:
    """Words of an expression: 'Select thé 2 cats!' -> ['select', 'the', '2', 'cats']."""
    return _WORD.findall(normalize_expression(expression))


def describe_empty(expression: str) -> str:
    """Why an expression without words cannot be used, in words a user can act on."""
    if not expression.strip():
        return "the expression is empty: type what to select, e.g. 'the two sheep'"
    return (f"{expression.strip()!r} has no words the model can read (only symbols or emoji): "
            "type what to select in words, e.g. 'the two sheep'")
