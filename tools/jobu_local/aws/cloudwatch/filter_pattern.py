"""CloudWatch Logs filter patterns, evaluated on the client.

moto's CloudWatch Logs matches plain terms only and lets every event through for a JSON pattern
(`{ $.execution_id = 42 }`), so against the embedded emulator `jobu logs` filters here, with the
same syntax CloudWatch documents:

- empty pattern: every event;
- terms: `ERROR timeout` (all terms), `?ERROR ?WARN` (any term), `ERROR -retry` (exclude),
  `"quoted phrase"`, `%regular expression%`; terms are case-sensitive;
- JSON: `{ $.key = value }` with `= != < > <= >=`, string values quoted or bare with `*` wildcards,
  numbers, `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, `&&`, `||`, parentheses, nested keys
  (`$.a.b`) and array indexes (`$.a[0]`). A message that is not a JSON object never matches.

Space-delimited patterns (`[ip, user, ...]`) are refused with a clear error.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Matcher = Callable[[str], bool]
_Predicate = Callable[[Any], bool]
_MISSING = object()


class FilterPatternError(ValueError):
    """The filter pattern is not valid CloudWatch syntax (or uses a form not supported here)."""


def compile_pattern(pattern: str) -> Matcher:
    """A function telling whether a log message matches `pattern`."""
    text = pattern.strip()
    if not text:
        return lambda _message: True
    if text.startswith("{"):
        return _compile_json(text)
    if text.startswith("["):
        raise FilterPatternError("space-delimited filter patterns ([a, b, ...]) are not supported locally")
    return _compile_terms(text)


def matches(pattern: str, message: str) -> bool:
    return compile_pattern(pattern)(message)


# --- term patterns -------------------------------------------------------------------------------

_TERM = re.compile(r"""\s*([?-]?)("(?:[^"\\]|\\.)*"|%[^%]*%|[^\s"]+)""")


def _term_matcher(token: str) -> Matcher:
    if token.startswith('"'):
        phrase = json.loads(token)
        return lambda message: phrase in message
    if token.startswith("%") and token.endswith("%") and len(token) >= 2:
        regex = re.compile(token[1:-1])
        return lambda message: regex.search(message) is not None
    return lambda message: token in message


def _compile_terms(text: str) -> Matcher:
    required: list[Matcher] = []
    optional: list[Matcher] = []
    excluded: list[Matcher] = []
    position = 0
    while position < len(text):
        found = _TERM.match(text, position)
        if found is None:
            if text[position:].strip():
                raise FilterPatternError(f"cannot parse filter pattern at {text[position:]!r}")
            break
        prefix, token = found.groups()
        {"": required, "?": optional, "-": excluded}[prefix].append(_term_matcher(token))
        position = found.end()

    def match(message: str) -> bool:
        if optional and not any(term(message) for term in optional):
            return False
        return all(term(message) for term in required) and not any(term(message) for term in excluded)

    return match


# --- JSON patterns -------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
      | (?P<selector>\$(?:\.[A-Za-z0-9_@\-]+|\[\d+\]|\.\*)*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s(){}=!<>&|"]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _JSON_TOKEN.match(text, position)
        if found is None or found.lastgroup is None:
            raise FilterPatternError(f"cannot parse filter pattern at {text[position:]!r}")
        tokens.append(_Token(found.lastgroup, found.group(found.lastgroup)))
        position = found.end()
    return tokens


_PATH_PART = re.compile(r"\.([A-Za-z0-9_@\-]+)|\[(\d+)\]")


def _select(document: Any, selector: str) -> Any:
    value = document
    for key, index in _PATH_PART.findall(selector[1:]):
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparison(operator: str, literal: _Token) -> _Predicate:
    text = json.loads(literal.text) if literal.kind == "string" else literal.text
    number = _number(text) if literal.kind == "word" else None
    if operator in {"<", ">", "<=", ">="}:
        if number is None:
            raise FilterPatternError(f"{operator} needs a number, not {literal.text!r}")
        compare = {
            "<": float.__lt__,
            ">": float.__gt__,
            "<=": float.__le__,
            ">=": float.__ge__,
        }[operator]
        return lambda value: _is_number(value) and compare(float(value), number)

    def equal(value: Any) -> bool:
        if number is not None and _is_number(value):
            return float(value) == number
        if isinstance(value, str):
            return fnmatch.fnmatchcase(value, text) if "*" in text else value == text
        return False

    if operator == "=":
        return equal
    return lambda value: value is not _MISSING and not equal(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _JsonParser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (expected is not None and token.text.upper() != expected):
            raise FilterPatternError(
                f"expected {expected or 'more'} in filter pattern, got {token and token.text!r}"
            )
        self.position += 1
        return token

    def parse(self) -> Callable[[Any], bool]:
        self.take("{")
        predicate = self.disjunction()
        self.take("}")
        if self.peek() is not None:
            raise FilterPatternError("unexpected text after the closing } of the filter pattern")
        return predicate

    def disjunction(self) -> Callable[[Any], bool]:
        parts = [self.conjunction()]
        while (token := self.peek()) is not None and token.text == "||":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda doc: any(part(doc) for part in parts)

    def conjunction(self) -> Callable[[Any], bool]:
        parts = [self.primary()]
        while (token := self.peek()) is not None and token.text == "&&":
            self.take()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else lambda doc: all(part(doc) for part in parts)

    def primary(self) -> Callable[[Any], bool]:
        token = self.take()
        if token.text == "(":
            inner = self.disjunction()
            self.take(")")
            return inner
        if token.kind != "selector":
            raise FilterPatternError(f"expected a $.selector in filter pattern, got {token.text!r}")
        predicate = self.condition()
        selector = token.text
        return lambda doc: predicate(_select(doc, selector))

    def condition(self) -> _Predicate:
        token = self.take()
        word = token.text.upper()
        if word == "IS":
            target = self.take().text.upper()
            constants: dict[str, _Predicate] = {
                "TRUE": lambda value: value is True,
                "FALSE": lambda value: value is False,
                "NULL": lambda value: value is None,
            }
            if target not in constants:
                raise FilterPatternError(f"IS must be followed by TRUE, FALSE or NULL, not {target!r}")
            return constants[target]
        if word == "NOT":
            self.take("EXISTS")
            return lambda value: value is _MISSING
        if token.kind != "op" or token.text not in {"=", "!=", "<", ">", "<=", ">="}:
            raise FilterPatternError(f"expected a comparison operator in filter pattern, got {token.text!r}")
        literal = self.take()
        if literal.kind not in {"string", "word"}:
            raise FilterPatternError(f"expected a value after {token.text} in filter pattern")
        return _comparison(token.text, literal)


def _compile_json(text: str) -> Matcher:
    predicate = _JsonParser(_tokenize(text)).parse()

    def match(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return isinstance(document, dict) and predicate(document)

    return match
