"""A small IAM policy evaluator: identity-based statements against one request (action, resource, condition keys).

What it implements, as IAM documents it for identity-based policies of one principal:

- `Effect` `Allow` / `Deny`; an explicit Deny wins over any Allow, and no matching Allow is an implicit deny.
- `Action` / `NotAction`: case-insensitive, `*` and `?` wildcards (`s3:Get*`, `dynamodb:*`, `*`).
- `Resource` / `NotResource`: case-sensitive, `*` and `?` wildcards; an ARN is matched segment by segment (the six
  colon-separated parts, the last one may hold further colons), so `arn:aws:s3:::bucket/originals/*` matches every
  key under `originals/` and nothing in another bucket; `*` alone matches everything.
- `Condition`: the operators SignBridge's statements use or could (`StringEquals`, `StringNotEquals`,
  `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
  `ArnNotEquals`, `ArnNotLike`, `Bool`, `Null`, `NumericEquals/NotEquals/LessThan/LessThanEquals/GreaterThan/
  GreaterThanEquals`), each with the `...IfExists` form and the `ForAnyValue:` / `ForAllValues:` set qualifiers.
  Several keys in one operator, and several operators in one block, must all hold; several values for one key are
  alternatives. A condition key the request does not carry fails the operator (except `...IfExists`, `Null` and
  `ForAllValues:`), as in IAM. An operator this evaluator does not know makes the statement never match: an unknown
  Allow grants nothing and an unknown Deny denies nothing, and `unknown_operators()` lists them so the stack warns.

Not modelled: resource-based policies, permissions boundaries, session policies, SCPs, policy variables (`${...}`)
— SignBridge's roles use none of them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


@dataclass(frozen=True)
class AuthRequest:
    """What IAM authorises: one action on one resource, with the condition keys the request carries."""

    action: str  # "s3:PutObject"
    resource: str  # "arn:aws:s3:::bucket/originals/r1/doc.pdf"
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "s3:prefix" -> ("incoming/",)


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    condition: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Statement:
        """A statement as written in a policy document (intrinsics already resolved)."""
        condition = {
            str(operator): {str(key): _strings(values) for key, values in dict(block).items()}
            for operator, block in dict(raw.get("Condition") or {}).items()
        }
        return cls(
            effect=str(raw.get("Effect", "")),
            actions=_strings(raw.get("Action")),
            not_actions=_strings(raw["NotAction"]) if "NotAction" in raw else None,
            resources=_strings(raw.get("Resource")),
            not_resources=_strings(raw["NotResource"]) if "NotResource" in raw else None,
            condition=condition,
            sid=str(raw.get("Sid", "")),
        )

    @cached_property
    def _action_pattern(self) -> re.Pattern[str]:
        patterns = self.actions if self.not_actions is None else self.not_actions
        return _any_of([_wildcard_regex(p) for p in patterns], ignore_case=True)

    @cached_property
    def _resource_pattern(self) -> re.Pattern[str]:
        patterns = self.resources if self.not_resources is None else self.not_resources
        return _any_of([_resource_regex(p) for p in patterns], ignore_case=False)

    def applies_to(self, request: AuthRequest) -> bool:
        if (self._action_pattern.match(request.action) is None) is (self.not_actions is None):
            return False
        if (self._resource_pattern.match(request.resource) is None) is (self.not_resources is None):
            return False
        return all(
            condition_holds(operator, key, values, request.context)
            for operator, block in self.condition.items()
            for key, values in block.items()
        )


def parse_document(document: Mapping[str, Any]) -> list[Statement]:
    """The statements of a policy document (`Statement` may be one statement or a list)."""
    raw = document.get("Statement") or []
    return [Statement.parse(item) for item in (raw if isinstance(raw, list) else [raw])]


def evaluate(statements: Iterable[Statement], request: AuthRequest) -> Decision:
    allowed = False
    for statement in statements:
        if not statement.applies_to(request):
            continue
        if statement.effect == "Deny":
            return Decision.EXPLICIT_DENY
        if statement.effect == "Allow":
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


# -- matching -------------------------------------------------------------------------------------------------------


def _wildcard_regex(pattern: str, *, any_char: str = ".") -> str:
    return "".join(f"{any_char}*" if c == "*" else any_char if c == "?" else re.escape(c) for c in pattern)


def _resource_regex(pattern: str) -> str:
    """An ARN pattern as a regular expression: a wildcard in one of the first five segments stays in its segment."""
    if pattern == "*":
        return ".*"
    segments = pattern.split(":", 5)
    if len(segments) != 6:  # not an ARN: a plain wildcard pattern
        return _wildcard_regex(pattern)
    return ":".join([*(_wildcard_regex(s, any_char="[^:]") for s in segments[:5]), _wildcard_regex(segments[5])])


def _any_of(regexes: list[str], *, ignore_case: bool) -> re.Pattern[str]:
    body = "|".join(f"(?:{r})" for r in regexes) or "(?!)"  # no pattern: matches nothing
    return re.compile(f"\\A(?:{body})\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    return _any_of([_wildcard_regex(pattern)], ignore_case=ignore_case)


def wildcard_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case=ignore_case).match(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return wildcard_matches(pattern, action, ignore_case=True)


@lru_cache(maxsize=4096)
def _resource(pattern: str) -> re.Pattern[str]:
    return _any_of([_resource_regex(pattern)], ignore_case=False)


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM's ARN matching: `*` is everything; otherwise each of the six ARN segments matches its own pattern."""
    return _resource(pattern).match(resource) is not None


# -- conditions -----------------------------------------------------------------------------------------------------

_STRING_TESTS: Mapping[str, Any] = {
    "StringEquals": lambda want, have: want == have,
    "StringNotEquals": lambda want, have: want == have,
    "StringEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringNotEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringLike": wildcard_matches,
    "StringNotLike": wildcard_matches,
    "ArnEquals": lambda want, have: want == have,
    "ArnNotEquals": lambda want, have: want == have,
    "ArnLike": resource_matches,
    "ArnNotLike": resource_matches,
    "Bool": lambda want, have: want.lower() == have.lower(),
    "NumericEquals": lambda want, have: _number(have) == _number(want),
    "NumericNotEquals": lambda want, have: _number(have) == _number(want),
    "NumericLessThan": lambda want, have: _number(have) < _number(want),
    "NumericLessThanEquals": lambda want, have: _number(have) <= _number(want),
    "NumericGreaterThan": lambda want, have: _number(have) > _number(want),
    "NumericGreaterThanEquals": lambda want, have: _number(have) >= _number(want),
}
# Negated operators: the value matches none of the listed ones.
_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"})


def known_operator(operator: str) -> bool:
    base = operator.split(":", 1)[1] if operator.startswith(("ForAnyValue:", "ForAllValues:")) else operator
    base = base.removesuffix("IfExists")
    return base in _STRING_TESTS or base == "Null"


def unknown_operators(statements: Iterable[Statement]) -> list[str]:
    return sorted({op for statement in statements for op in statement.condition if not known_operator(op)})


def condition_holds(operator: str, key: str, values: Sequence[str], context: Mapping[str, tuple[str, ...]]) -> bool:
    qualifier = ""
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    base = operator.removesuffix("IfExists") if if_exists else operator
    present = key in context and len(context[key]) > 0
    if base == "Null":  # "true": the key is absent; "false": it is present
        return all((value.lower() == "true") != present for value in values)
    test = _STRING_TESTS.get(base)
    if test is None:
        return False  # unknown operator: the statement never matches (see the module docstring)
    if not present:
        return if_exists or qualifier == "ForAllValues"
    have = context[key]

    def one(item: str) -> bool:
        try:
            matched = any(test(want, item) for want in values)
        except ValueError:
            return False
        return not matched if base in _NEGATED else matched

    if qualifier == "ForAllValues":
        return all(one(item) for item in have)
    return any(one(item) for item in have)


def _number(text: str) -> float:
    return float(text)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(item) for item in value)
    return (str(value),)
