"""A deployed stack's outputs, read with CloudFormation DescribeStacks (e.g. its AdminApiUrl)."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError


class StackError(RuntimeError):
    """The stack or its output cannot be read; the message says which and why."""


@dataclass(frozen=True)
class StackOutput:
    value: str
    region: str  # where the stack was found: the region its resources live in


def stack_output(
    stack_name: str, key: str, *, region: str | None = None, profile: str | None = None
) -> StackOutput:
    """The output `key` of the stack, in `region` (default: the user's configured region)."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except NoRegionError:
        raise StackError(
            f"which region is stack {stack_name!r} in? pass --region or set AWS_REGION"
        ) from None
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise StackError(f"cannot read stack {stack_name!r}: {message}") from None
    except BotoCoreError as error:  # no credentials, the endpoint unreachable, an unknown profile
        raise StackError(f"cannot read stack {stack_name!r}: {error}") from None
    outputs = {output["OutputKey"]: output.get("OutputValue", "") for output in stacks[0].get("Outputs", [])}
    if not outputs.get(key):
        raise StackError(
            f"stack {stack_name!r} ({session.region_name}) has no {key} output"
            + (f"; it has: {', '.join(sorted(outputs))}" if outputs else "")
        )
    return StackOutput(value=outputs[key], region=str(session.region_name))
