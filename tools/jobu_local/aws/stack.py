"""A deployed stack's outputs (CloudFormation DescribeStacks): where its admin API and logs are."""

from __future__ import annotations

from typing import Any

ADMIN_API_URL = "AdminApiUrl"
LOG_GROUP_SUFFIX = "LogGroupName"


class StackError(RuntimeError):
    """The stack or the output asked for does not exist; the message says which."""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """{OutputKey: OutputValue} of the stack."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except cloudformation.exceptions.ClientError as error:
        raise StackError(f"cannot read stack {stack_name!r}: {error}") from None
    outputs = stacks[0].get("Outputs", []) if stacks else []
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}


def admin_api_url(outputs: dict[str, str], stack_name: str) -> str:
    try:
        return outputs[ADMIN_API_URL]
    except KeyError:
        raise StackError(
            f"stack {stack_name!r} has no {ADMIN_API_URL} output: is it a jobu stack with the admin API?"
        ) from None


def function_log_groups(outputs: dict[str, str]) -> dict[str, str]:
    """{log group: the output's name without LogGroupName} for every log group output."""
    return {
        value: key.removesuffix(LOG_GROUP_SUFFIX)
        for key, value in sorted(outputs.items())
        if key.endswith(LOG_GROUP_SUFFIX)
    }
