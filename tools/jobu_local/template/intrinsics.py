"""CloudFormation intrinsic functions, resolved locally.

Refs to Parameters take their Default (or an override), pseudo parameters take local values, and
Refs / GetAtts to resources ask a `ResourceProvider`: the runtime's provider creates the queue in the
emulator when its URL or ARN is first needed; the naming provider only names things.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from jobu_local.errors import Refusal


class TemplateError(Refusal, ValueError):
    """The template uses something the local runtime cannot resolve; the message says what."""


class ResourceProvider(Protocol):
    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        conditions: Mapping[str, Any],
        mappings: Mapping[str, Any],
        provider: ResourceProvider,
    ) -> None:
        self.parameters = parameters
        self.pseudo = pseudo
        self.condition_definitions = conditions
        self.mappings = mappings
        self.provider = provider
        self._conditions: dict[str, bool] = {}

    # --- public ----------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.condition_definitions:
                raise TemplateError(f"unknown Condition {name!r}")
            self._conditions[name] = bool(self._resolve(self.condition_definitions[name]))
        return self._conditions[name]

    # --- intrinsic functions ---------------------------------------------------------------------

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self._resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: Any) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.provider.ref(str(name))

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = argument[0], self._resolve(argument[1])
        return self.provider.get_att(logical_id, attribute)

    def _sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {name: self._resolve(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters:
                logical_id, attribute = name.split(".", 1)
                return str(self.provider.get_att(logical_id, attribute))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, template).replace("${!", "${")

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(name) else when_false)

    def _equals(self, argument: Any) -> bool:
        left, right = (self._resolve(item) for item in argument)
        return bool(str(left) == str(right))

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self._resolve(items)[int(self._resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return str(self._resolve(text)).split(delimiter)

    def _find_in_map(self, argument: Any) -> Any:
        name, top, second = (str(self._resolve(item)) for item in argument)
        return self.mappings[name][top][second]

    def _condition_ref(self, argument: Any) -> bool:
        return self.condition(str(argument))

    _FUNCTIONS: ClassVar[dict[str, Any]] = {
        "Ref": lambda self, argument: self._ref(argument),
        "Fn::GetAtt": lambda self, argument: self._get_att(argument),
        "Fn::Sub": lambda self, argument: self._sub(argument),
        "Fn::If": lambda self, argument: self._if(argument),
        "Fn::Equals": lambda self, argument: self._equals(argument),
        "Fn::Not": lambda self, argument: not self._resolve(argument[0]),
        "Fn::And": lambda self, argument: all(self._resolve(item) for item in argument),
        "Fn::Or": lambda self, argument: any(self._resolve(item) for item in argument),
        "Fn::Join": lambda self, argument: self._join(argument),
        "Fn::Select": lambda self, argument: self._select(argument),
        "Fn::Split": lambda self, argument: self._split(argument),
        "Fn::FindInMap": lambda self, argument: self._find_in_map(argument),
        "Fn::GetAZs": lambda self, argument: [f"{self.pseudo['AWS::Region']}a"],
        "Fn::Base64": lambda self, argument: self._resolve(argument),
        "Condition": lambda self, argument: self._condition_ref(argument),
    }
