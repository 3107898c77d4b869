"""The intrinsic-function resolver: raw CloudFormation values (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, ...) turned
into local ones through `LocalNames`."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local.template.specs import FunctionSpec, TemplateModel, TemplateWarning

if TYPE_CHECKING:
    from local.template.names import LocalNames

PSEUDO_PARAMETERS = (
    "AWS::Region",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
)


NO_VALUE = object()  # what `Ref: AWS::NoValue` resolves to; dropped from lists and mappings


class Resolver:
    """Turns raw CloudFormation values into local values. Problems become warnings, never exceptions."""

    def __init__(self, model: TemplateModel, names: LocalNames) -> None:
        self.model = model
        self.names = names
        self.warnings = names.warnings

    def resolve(self, value: Any, *, where: str = "") -> Any:
        result = self._resolve(value, where)
        return None if result is NO_VALUE else result

    def resolve_str(self, value: Any, *, where: str = "") -> str:
        result = self.resolve(value, where=where)
        if isinstance(result, bool):
            return "true" if result else "false"
        if isinstance(result, (dict, list)):
            return json.dumps(result)
        return "" if result is None else str(result)

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's environment variables, resolved, with cloud URLs of emulated services made local."""
        return {
            name: self.names.localize(self.resolve_str(value, where=f"{function.logical_id}.Environment.{name}"))
            for name, value in function.environment.items()
        }

    # -- internals ------------------------------------------------------------------------------------------------

    def _warn(self, code: str, where: str, message: str) -> str:
        warning = TemplateWarning(code, where or "?", message)
        if warning not in self.warnings:
            self.warnings.append(warning)
        return f"<unresolved:{message}>"

    def _resolve(self, value: Any, where: str) -> Any:  # noqa: PLR0911 - one branch per intrinsic
        if isinstance(value, list):
            return [item for item in (self._resolve(v, where) for v in value) if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(str(argument), where)
            if key == "Condition":
                return self._condition(str(argument), where)
            if key.startswith("Fn::"):
                handler = getattr(self, "_fn_" + key[4:].lower(), None)
                if handler is None:
                    return self._warn("unsupported-intrinsic", where, f"{key} is not supported locally")
                return handler(argument, where)
        resolved = {k: self._resolve(v, where) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str, where: str) -> Any:  # noqa: PLR0911 - pseudo, parameter, resource
        ident = self.names.identity
        pseudo = {
            "AWS::Region": ident.region,
            "AWS::AccountId": ident.account_id,
            "AWS::Partition": ident.partition,
            "AWS::URLSuffix": ident.url_suffix,
            "AWS::StackName": self.model.stack_name,
            "AWS::StackId": f"arn:{ident.partition}:cloudformation:{ident.region}:{ident.account_id}:stack/"
            f"{self.model.stack_name}/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.model.parameters:
            parameter = self.model.parameters[name]
            if parameter.type.startswith("AWS::SSM::Parameter::Value"):
                # e.g. the Powertools layer ARN, read from SSM at deploy time; nothing local uses it.
                return f"local-ssm-parameter-{name}"
            if parameter.default is None:
                return self._warn("unresolved-reference", where, f"parameter {name} has no default")
            return parameter.default
        if name in self.model.resources:
            return self.names.physical(name).ref
        return self._warn("unresolved-reference", where, f"Ref {name} names nothing in the template")

    def _fn_getatt(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = str(argument[0]), str(self._resolve(argument[1], where))
        if logical_id not in self.model.resources:
            return self._warn("unresolved-reference", where, f"GetAtt {logical_id} names nothing in the template")
        physical = self.names.physical(logical_id)
        if attribute not in physical.attributes:
            kind = self.model.resources[logical_id].get("Type")
            return self._warn("unresolved-reference", where, f"GetAtt {logical_id}.{attribute} ({kind}) not known")
        return physical.attributes[attribute]

    def _fn_join(self, argument: Any, where: str) -> Any:
        delimiter, items = argument
        resolved = self._resolve(items, where)
        return str(delimiter).join(self._as_text(item) for item in resolved)

    def _fn_sub(self, argument: Any, where: str) -> Any:
        if isinstance(argument, list):
            text, variables = str(argument[0]), {k: self._resolve(v, where) for k, v in argument[1].items()}
        else:
            text, variables = str(argument), {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is a literal ${Literal}
            if name in variables:
                return self._as_text(variables[name])
            if "." in name and name.split(".", 1)[0] in self.model.resources:
                return self._as_text(self._fn_getatt(name, where))
            return self._as_text(self._ref(name, where))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_select(self, argument: Any, where: str) -> Any:
        index, items = argument
        resolved = self._resolve(items, where)
        position = int(self._resolve(index, where))
        if not isinstance(resolved, list) or not 0 <= position < len(resolved):
            return self._warn("unsupported-intrinsic", where, f"Fn::Select index {position} out of range")
        return resolved[position]

    def _fn_split(self, argument: Any, where: str) -> Any:
        delimiter, text = argument
        return self._as_text(self._resolve(text, where)).split(str(delimiter))

    def _fn_base64(self, argument: Any, where: str) -> Any:
        return base64.b64encode(self._as_text(self._resolve(argument, where)).encode()).decode()

    def _fn_getazs(self, argument: Any, where: str) -> Any:
        region = self._resolve(argument, where) or self.names.identity.region
        return [f"{region}a", f"{region}b", f"{region}c"]

    def _fn_findinmap(self, argument: Any, where: str) -> Any:
        mapping, top, second = (self._resolve(item, where) for item in argument[:3])
        try:
            return self.model.mappings[mapping][top][second]
        except (KeyError, TypeError):
            return self._warn("unresolved-reference", where, f"Fn::FindInMap {mapping}/{top}/{second} not found")

    def _fn_if(self, argument: Any, where: str) -> Any:
        condition, when_true, when_false = argument
        chosen = when_true if self._condition(str(condition), where) else when_false
        return self._resolve(chosen, where)

    def _fn_equals(self, argument: Any, where: str) -> Any:
        left, right = (self._resolve(item, where) for item in argument)
        return left == right

    def _fn_not(self, argument: Any, where: str) -> Any:
        return not self._truth(argument[0], where)

    def _fn_and(self, argument: Any, where: str) -> Any:
        return all(self._truth(item, where) for item in argument)

    def _fn_or(self, argument: Any, where: str) -> Any:
        return any(self._truth(item, where) for item in argument)

    def _truth(self, value: Any, where: str) -> bool:
        if isinstance(value, Mapping) and set(value) == {"Condition"}:
            return self._condition(str(value["Condition"]), where)
        return bool(self._resolve(value, where))

    def _condition(self, name: str, where: str) -> bool:
        if name not in self.model.conditions:
            self._warn("unresolved-reference", where, f"condition {name} is not defined")
            return False
        return self._truth(self.model.conditions[name], where)

    @staticmethod
    def _as_text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None or value is NO_VALUE else str(value)
