"""CloudWatch Logs filter patterns, as CloudWatch documents them (FilterAndPatternSyntax).

- empty pattern: every event;
- terms: `ERROR timeout` (all terms), `?ERROR ?WARN` (any term), `ERROR -retry` (exclude),
  `"quoted phrase"`, `%regular expression%`; terms are case-sensitive;
- JSON: `{ $.key = value }` with `= != < > <= >=`, string values quoted or bare with `*` wildcards,
  numbers, `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`, `&&`, `||`, parentheses, nested keys
  (`$.a.b`), array indexes (`$.a[0]`) and the array wildcard (`$.a[*].id`: any element). A selector
  must reach a value (a string or a number): `{ $.users != 1 }` does not match when `users` is an
  array. `= *` matches any string or number. A message that is not a JSON object never matches;
- space-delimited: `[ip, user, ..., status_code >= 400, bytes]`. The message's fields are split on
  spaces, a `[...]` or `"..."` group being one field; `...` stands for any number of fields, and
  without it the counts must be equal. Each field may carry conditions (`=`, `!=` with `*` or
  `%regex%` on text, `< > <= >= = !=` on numbers) joined with `&&` and `||`, which may name other
  fields of the pattern.

The embedded emulator's CloudWatch Logs uses this module for FilterLogEvents (aws/moto_server.py),
and `jobu logs` applies it to what LocalStack and other emulators return.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobu_local.errors import Refusal

Matcher = Callable[[str], bool]
_Predicate = Callable[[Any], bool]


def _not_exists(_value: Any) -> bool:
    """NOT EXISTS: a marker the parser recognises by identity (the selector reaches nothing)."""
    return False


class FilterPatternError(Refusal, ValueError):
    """The filter pattern is not valid CloudWatch syntax (or uses a form not supported here)."""


def compile_pattern(pattern: str) -> Matcher:
    """A function telling whether a log message matches `pattern`."""
    text = pattern.strip()
    if not text:
        return lambda _message: True
    if text.startswith("{"):
        return _compile_json(text)
    if text.startswith("["):
        return _compile_delimited(text)
    return _compile_terms(text)


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
      | (?P<selector>\$(?:\.[A-Za-z0-9_@\-]+|\[\d+\]|\[\*\])*)
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


_PATH_PART = re.compile(r"\.([A-Za-z0-9_@\-]+)|\[(\d+|\*)\]")


def _select(document: Any, selector: str) -> list[Any]:
    """The values a selector reaches: none, one, or one per array element for `[*]`."""
    values = [document]
    for key, index in _PATH_PART.findall(selector[1:]):
        reached: list[Any] = []
        for value in values:
            if key and isinstance(value, dict) and key in value:
                reached.append(value[key])
            elif index == "*" and isinstance(value, list):
                reached.extend(value)
            elif index and index != "*" and isinstance(value, list) and int(index) < len(value):
                reached.append(value[int(index)])
        values = reached
    return values


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparison(operator: str, literal: _Token) -> _Predicate:
    """A test of one value (a JSON value, or a space-delimited field's text)."""
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
        return lambda value: (found := _as_number(value)) is not None and compare(found, number)

    def equal(value: Any) -> bool:
        if number is not None and (found := _as_number(value)) is not None:
            return found == number
        shown = _text(value)
        if shown is None:
            return False
        if text.startswith("%") and text.endswith("%") and len(text) >= 2:
            return re.search(text[1:-1], shown) is not None
        return fnmatch.fnmatchcase(shown, text) if "*" in text else shown == text

    if operator == "=":
        return equal
    # != holds for a value node that is not equal; never for an array, an object or a missing key
    return lambda value: _text(value) is not None and not equal(value)


def _text(value: Any) -> str | None:
    """A value node's text (strings and numbers are value nodes; `*` patterns match either)."""
    if isinstance(value, str):
        return value
    if _is_number(value):
        return json.dumps(value)
    return None


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    return _number(value) if isinstance(value, FieldText) else None


class FieldText(str):
    """A space-delimited field: text that numeric conditions read as a number (JSON strings are not)."""

    __slots__ = ()


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
        if predicate is _not_exists:
            return lambda doc: not _select(doc, selector)
        return lambda doc: any(predicate(value) for value in _select(doc, selector))

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
            return _not_exists
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


# --- space-delimited patterns --------------------------------------------------------------------

_FIELD = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
_CONDITION = re.compile(
    r"""\s*(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)\s*(?P<op>!=|<=|>=|=|<|>)\s*
    (?P<value>"(?:[^"\\]|\\.)*"|%[^%]*%|[^\s&|,]+)\s*""",
    re.VERBOSE,
)
ELLIPSIS = "..."


def message_fields(message: str) -> list[FieldText]:
    """A message's space-delimited fields; a `[...]` or `"..."` group is one field, without its marks."""
    fields = []
    for found in _FIELD.finditer(message):
        text = found.group(0)
        grouped = len(text) >= 2 and text[0] + text[-1] in {"[]", '""'}
        fields.append(FieldText(text[1:-1] if grouped else text))
    return fields


@dataclass(frozen=True)
class _Slot:
    name: str | None  # None: an unnamed field (an empty slot); ELLIPSIS: any number of fields
    condition: Callable[[dict[str, FieldText]], bool] | None


def _split_top(text: str, separator: str) -> list[str]:
    """Split on a separator outside double quotes and %regex%."""
    parts, current, quoted, regex = [], "", False, False
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"' and not regex and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif char == "%" and not quoted:
            regex = not regex
        if not quoted and not regex and text.startswith(separator, index):
            parts.append(current)
            current = ""
            index += len(separator)
            continue
        current += char
        index += 1
    parts.append(current)
    return parts


def _delimited_condition(text: str) -> Callable[[dict[str, FieldText]], bool]:
    """`a = 4* && b > 1000 || a = 5*` (&& binds tighter), each test reading a named field."""
    alternatives = []
    for alternative in _split_top(text, "||"):
        tests = []
        for clause in _split_top(alternative, "&&"):
            found = _CONDITION.fullmatch(clause)
            if found is None:
                raise FilterPatternError(f"cannot parse condition {clause.strip()!r} in filter pattern")
            value = found.group("value")
            literal = _Token("string" if value.startswith('"') else "word", value)
            tests.append((found.group("name"), _comparison(found.group("op"), literal)))
        alternatives.append(tests)

    def holds(fields: dict[str, FieldText]) -> bool:
        return any(
            all(name in fields and test(fields[name]) for name, test in tests) for tests in alternatives
        )

    return holds


def _slot(text: str) -> _Slot:
    text = text.strip()
    if not text:
        return _Slot(None, None)
    if text == ELLIPSIS:
        return _Slot(ELLIPSIS, None)
    name = re.match(r"[A-Za-z_$][A-Za-z0-9_$]*", text)
    if name is None:
        raise FilterPatternError(f"a space-delimited field needs a name, not {text!r}")
    if name.end() == len(text):
        return _Slot(text, None)
    return _Slot(name.group(0), _delimited_condition(text))


def _alignments(slots: list[_Slot], count: int) -> list[dict[str, int]]:
    """Each way to give the fields (by index) to the slots; `...` takes any number of fields."""
    results: list[dict[str, int]] = []

    def place(slot_index: int, field_index: int, bound: dict[str, int]) -> None:
        if slot_index == len(slots):
            if field_index == count:
                results.append(dict(bound))
            return
        slot = slots[slot_index]
        if slot.name == ELLIPSIS:
            for end in range(field_index, count + 1):
                place(slot_index + 1, end, bound)
            return
        if field_index >= count:
            return
        if slot.name is not None:
            bound[slot.name] = field_index
        place(slot_index + 1, field_index + 1, bound)
        if slot.name is not None:
            del bound[slot.name]

    place(0, 0, {})
    return results


def _compile_delimited(text: str) -> Matcher:
    if not text.endswith("]"):
        raise FilterPatternError("a space-delimited filter pattern ends with ]")
    slots = [_slot(part) for part in _split_top(text[1:-1], ",")]
    conditions = [slot.condition for slot in slots if slot.condition is not None]

    def match(message: str) -> bool:
        fields = message_fields(message)
        for alignment in _alignments(slots, len(fields)):
            named = {name: fields[index] for name, index in alignment.items()}
            named.update({f"${index + 1}": field for index, field in enumerate(fields)})
            if all(condition(named) for condition in conditions):
                return True
        return False

    return match
