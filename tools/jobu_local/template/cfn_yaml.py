"""Load a CloudFormation / SAM template written in YAML, short-form tags included.

`!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`,
`!Condition C` becomes `{"Condition": "C"}` and every other `!Fn` tag becomes `{"Fn::Fn": value}`:
the same shape as the template's JSON form, so callers handle one form only.

Timestamps stay strings (`Version: 2012-10-17` is a string to CloudFormation, not a date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["FUNCTION_TAGS", "load_template", "loads_template"]

# Short-form tags whose long form is "Fn::<name>".
FUNCTION_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
)


class _TemplateLoader(yaml.SafeLoader):
    """SafeLoader plus the CloudFormation tags; a class of its own so SafeLoader is untouched."""


def _node_value(loader: _TemplateLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _function(long_name: str) -> Any:
    def construct(loader: _TemplateLoader, node: yaml.Node) -> dict[str, Any]:
        return {long_name: _node_value(loader, node)}

    return construct


def _get_att(loader: _TemplateLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        # "Resource.Attribute" and "Resource.Nested.Attribute": the logical id never has a dot.
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


def _without_timestamps() -> None:
    resolvers = _TemplateLoader.yaml_implicit_resolvers
    _TemplateLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag != "tag:yaml.org,2002:timestamp"]
        for first, entries in resolvers.items()
    }


_without_timestamps()
_TemplateLoader.add_constructor("!Ref", _function("Ref"))
_TemplateLoader.add_constructor("!Condition", _function("Condition"))
_TemplateLoader.add_constructor("!GetAtt", _get_att)
for _name in FUNCTION_TAGS:
    _TemplateLoader.add_constructor(f"!{_name}", _function(f"Fn::{_name}"))


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text; the top level must be a mapping."""
    document = yaml.load(text, Loader=_TemplateLoader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(document, dict):
        raise ValueError("a CloudFormation template must be a YAML mapping at its top level")
    return document


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse the template at `path`."""
    return loads_template(Path(path).read_text(encoding="utf-8"))
