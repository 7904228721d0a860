"""template.yaml, read for the local runtime: functions, their event sources, queues and log groups.

Only what the template says is used: handler, CodeUri, layers, Timeout, MemorySize, Environment
(Globals merged in), the event sources' settings (BatchSize, MaximumBatchingWindowInSeconds,
StartingPosition, Topics, ConsumerGroupId, FunctionResponseTypes, ScheduleExpression, Input, State),
and the queues' and log groups' properties. Parameters take their Default unless overridden.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobu_local.host.config import FunctionDefinition
from jobu_local.template.intrinsics import Resolver, ResourceProvider, TemplateError

SAM_FUNCTION = "AWS::Serverless::Function"
SAM_LAYER = "AWS::Serverless::LayerVersion"
LAMBDA_LAYER = "AWS::Lambda::LayerVersion"
SQS_QUEUE = "AWS::SQS::Queue"
LOG_GROUP = "AWS::Logs::LogGroup"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
S3_BUCKET = "AWS::S3::Bucket"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_STACK_NAME = "jobu"
# Parameter values for a local run, used for the Parameters the template has and the user did not
# override: the local broker stands in for an MSK cluster (so the Kafka mapping exists and its events
# are MSK-shaped), and the database secret is replaced by the local database URL anyway.
LOCAL_PARAMETERS = {
    "KafkaSource": "MSK",
    "MskClusterArn": "arn:aws:kafka:{region}:{account}:cluster/jobu-local/0a1b2c3d-4000-8000-0000-1",
    "DatabaseSecretArn": "arn:aws:secretsmanager:{region}:{account}:secret:jobu-local-database",
}
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@dataclass(frozen=True)
class ScheduleSource:
    name: str
    expression: str
    input: str | None
    enabled: bool
    schedule_name: str


@dataclass(frozen=True)
class KafkaSource:
    name: str
    kind: str  # "MSK" or "SelfManagedKafka"
    topics: tuple[str, ...]
    batch_size: int
    batching_window_seconds: float
    starting_position: str
    consumer_group_id: str
    cluster_arn: str | None
    maximum_retry_attempts: int | None
    enabled: bool
    bisect_on_error: bool = False
    on_failure_destination: str | None = None


@dataclass(frozen=True)
class SqsSource:
    name: str
    queue_logical_id: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    enabled: bool
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency (2 to 1000)


@dataclass(frozen=True)
class HttpApiSource:
    """An HttpApi event: a route of an API Gateway HTTP API (no Path and no Method: `$default`)."""

    name: str
    method: str
    path: str | None
    timeout_millis: int | None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    config: FunctionDefinition
    schedules: tuple[ScheduleSource, ...] = ()
    kafka: tuple[KafkaSource, ...] = ()
    sqs: tuple[SqsSource, ...] = ()
    http_apis: tuple[HttpApiSource, ...] = ()

    @property
    def short_name(self) -> str:
        """`cron-dispatcher` for CronDispatcherFunction."""
        return "-".join(word.lower() for word in _WORDS.findall(self.logical_id.removesuffix("Function")))

    @property
    def aliases(self) -> frozenset[str]:
        """Names a person may type for this function: logical id, function name, CodeUri folder."""
        folder = self.config.code_dir.name
        names = {self.logical_id, self.config.name, folder, folder.replace("_", "-"), self.short_name}
        return frozenset(name.lower() for name in names)


class NamingProvider:
    """Names resources as the local runtime does, creating nothing (for `logs`, `produce`, ...)."""

    def __init__(self, template: LocalTemplate) -> None:
        self.template = template

    def ref(self, logical_id: str) -> Any:
        resource = self.template.resource(logical_id)
        if resource["Type"] == SAM_FUNCTION:
            return self.template.function_name(logical_id)
        if resource["Type"] == SQS_QUEUE:
            return f"local://{self.template.queue_name(logical_id)}"
        if resource["Type"] == LOG_GROUP:
            return self.template.resolve(resource.get("Properties", {}).get("LogGroupName")) or logical_id
        if resource["Type"] == S3_BUCKET:
            return self.template.bucket_name(logical_id)
        return logical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.template.resource(logical_id)
        region, account = self.template.region, ACCOUNT_ID
        if resource["Type"] == SQS_QUEUE:
            name = self.template.queue_name(logical_id)
            return {"Arn": f"arn:aws:sqs:{region}:{account}:{name}", "QueueName": name}.get(attribute, name)
        if resource["Type"] == S3_BUCKET and attribute == "Arn":
            return f"arn:aws:s3:::{self.template.bucket_name(logical_id)}"
        if resource["Type"] == SAM_FUNCTION and attribute == "Arn":
            return f"arn:aws:lambda:{region}:{account}:function:{self.template.function_name(logical_id)}"
        return f"arn:aws:local:{region}:{account}:{logical_id}/{attribute}"


@dataclass
class LocalTemplate:
    path: Path
    document: dict[str, Any]
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    stack_name: str = DEFAULT_STACK_NAME
    provider: ResourceProvider | None = None
    local_parameters: bool = True
    _resolver: Resolver | None = None

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str | None = None,
        stack_name: str | None = None,
    ) -> LocalTemplate:
        from jobu_local.template.cfn_yaml import load_template

        document = load_template(path)
        config_stack_name, config_region = _samconfig(path.parent / "samconfig.toml")
        return cls(
            path=path,
            document=document,
            parameter_overrides=dict(parameter_overrides or {}),
            region=region or config_region or DEFAULT_REGION,
            stack_name=stack_name or config_stack_name or DEFAULT_STACK_NAME,
        )

    # --- resolution ------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(
                parameters=self.parameter_values(),
                pseudo={
                    "AWS::Region": self.region,
                    "AWS::AccountId": ACCOUNT_ID,
                    "AWS::StackName": self.stack_name,
                    "AWS::StackId": _stack_id(self.region, self.stack_name),
                    "AWS::Partition": "aws",
                    "AWS::URLSuffix": "amazonaws.com",
                    "AWS::NotificationARNs": [],
                },
                conditions=self.document.get("Conditions", {}),
                mappings=self.document.get("Mappings", {}),
                provider=self.provider or NamingProvider(self),
            )
        return self._resolver

    def use_provider(self, provider: ResourceProvider) -> None:
        self.provider = provider
        self._resolver = None

    def resolve(self, value: Any) -> Any:
        return self.resolver.resolve(value)

    def parameter_values(self) -> dict[str, Any]:
        """Each Parameter's override, else Default, else "" (locally, e.g. DatabaseSecretArn is
        replaced by the local database URL). Values are strings, lists for list types, as Ref gives them."""
        values: dict[str, Any] = {}
        local = {
            name: value.format(region=self.region, account=ACCOUNT_ID)
            for name, value in LOCAL_PARAMETERS.items()
            if self.local_parameters
        }
        for name, definition in self.document.get("Parameters", {}).items():
            raw = self.parameter_overrides.get(name, local.get(name, definition.get("Default", "")))
            kind = str(definition.get("Type", "String"))
            is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
            values[name] = (
                (str(raw).split(",") if not isinstance(raw, list) else raw) if is_list else _env_text(raw)
            )
        unknown = set(self.parameter_overrides) - set(values)
        if unknown:
            raise TemplateError(f"parameter override(s) not in the template: {', '.join(sorted(unknown))}")
        return values

    # --- resources -------------------------------------------------------------------------------

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of a type whose Condition (if any) holds."""
        found: dict[str, dict[str, Any]] = {}
        for logical_id, resource in self.document.get("Resources", {}).items():
            if resource.get("Type") != resource_type:
                continue
            condition = resource.get("Condition")
            if condition is None or self.resolver.condition(condition):
                found[logical_id] = resource
        return found

    def resource(self, logical_id: str) -> dict[str, Any]:
        try:
            resource: dict[str, Any] = self.document["Resources"][logical_id]
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in {self.path}") from None
        return resource

    def function_name(self, logical_id: str) -> str:
        name = self.resource(logical_id).get("Properties", {}).get("FunctionName")
        return str(self.resolve(name)) if name is not None else f"{self.stack_name}-{logical_id}"

    def queue_name(self, logical_id: str) -> str:
        properties = self.resource(logical_id).get("Properties", {})
        name = properties.get("QueueName")
        if name is not None:
            return str(self.resolve(name))
        suffix = ".fifo" if self.resolve(properties.get("FifoQueue")) in {True, "true"} else ""
        return f"{self.stack_name}-{logical_id}{suffix}"

    def bucket_name(self, logical_id: str) -> str:
        name = self.resource(logical_id).get("Properties", {}).get("BucketName")
        return str(self.resolve(name)) if name is not None else f"{self.stack_name}-{logical_id}".lower()

    def queues(self) -> dict[str, dict[str, Any]]:
        return self.resources(SQS_QUEUE)

    def log_groups(self) -> list[str]:
        groups = [
            str(self.resolve(resource.get("Properties", {}).get("LogGroupName")))
            for resource in self.resources(LOG_GROUP).values()
            if resource.get("Properties", {}).get("LogGroupName") is not None
        ]
        groups += [spec.config.log_group for spec in self.functions()]
        return sorted(set(groups))

    def kafka_topics(self) -> list[str]:
        return sorted(
            {topic for spec in self.functions() for source in spec.kafka for topic in source.topics}
        )

    # --- functions -------------------------------------------------------------------------------

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """The function's Properties with Globals.Function merged in (SAM's rules: maps merge)."""
        merged = dict(self.document.get("Globals", {}).get("Function", {}))
        for key, value in self.resource(logical_id).get("Properties", {}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = _merge(merged[key], value)
            elif isinstance(value, list) and isinstance(merged.get(key), list) and key == "Layers":
                merged[key] = [*merged[key], *value]
            else:
                merged[key] = value
        return merged

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id in self.resources(SAM_FUNCTION)]

    def function(self, logical_id: str) -> FunctionSpec:
        properties = self.function_properties(logical_id)
        variables = self.resolve(properties.get("Environment", {}).get("Variables", {})) or {}
        logging = self.resolve(properties.get("LoggingConfig", {})) or {}
        config = FunctionDefinition(
            logical_id=logical_id,
            name=self.function_name(logical_id),
            handler=str(self.resolve(properties["Handler"])),
            code_dir=(self.root / str(self.resolve(properties["CodeUri"]))).resolve(),
            layer_dirs=tuple(self.layer_dir(layer) for layer in properties.get("Layers", [])),
            timeout_seconds=int(self.resolve(properties.get("Timeout", 3))),
            memory_mb=int(self.resolve(properties.get("MemorySize", 128))),
            environment={name: _env_text(value) for name, value in variables.items()},
            region=self.region,
            runtime=str(self.resolve(properties.get("Runtime", "python3.12"))),
            log_format=str(logging.get("LogFormat", "Text")),
            system_log_level=str(logging.get("SystemLogLevel", "INFO")),
            application_log_level=str(logging.get("ApplicationLogLevel", "INFO")),
            reserved_concurrency=_optional_int(self.resolve(properties.get("ReservedConcurrentExecutions"))),
        )
        events = properties.get("Events", {}) or {}
        return FunctionSpec(
            logical_id=logical_id,
            config=config,
            schedules=tuple(self._schedules(logical_id, events)),
            kafka=tuple(self._kafka(logical_id, events)) + tuple(self._kafka_mappings(logical_id)),
            sqs=tuple(self._sqs(events)),
            http_apis=tuple(self._http_apis(events)),
        )

    def layer_dir(self, layer: Any) -> Path:
        if (
            isinstance(layer, dict)
            and set(layer) == {"Ref"}
            and layer["Ref"] in self.document.get("Resources", {})
        ):
            resource = self.resource(layer["Ref"])
            if resource["Type"] in {SAM_LAYER, LAMBDA_LAYER}:
                properties = resource.get("Properties", {})
                content = properties.get("ContentUri") or properties.get("Content")
                return (self.root / str(self.resolve(content)) / "python").resolve()
        raise TemplateError(f"layer {layer!r} is not a layer defined in this template; it cannot run locally")

    def _schedules(self, logical_id: str, events: Mapping[str, Any]) -> list[ScheduleSource]:
        sources: list[ScheduleSource] = []
        for name, event in events.items():
            if event.get("Type") not in {"Schedule", "ScheduleV2"}:
                continue
            properties = self.resolve(event.get("Properties", {}))
            expression = properties.get("ScheduleExpression") or properties.get("Schedule")
            state = str(properties.get("State", "ENABLED")).upper()
            enabled = properties.get("Enabled", True) not in {False, "false"} and state != "DISABLED"
            sources.append(
                ScheduleSource(
                    name=name,
                    expression=str(expression),
                    input=properties.get("Input"),
                    enabled=enabled,
                    schedule_name=str(properties.get("Name") or f"{self.stack_name}-{logical_id}{name}"),
                )
            )
        return sources

    def _kafka(self, logical_id: str, events: Mapping[str, Any]) -> list[KafkaSource]:
        sources: list[KafkaSource] = []
        for name, event in events.items():
            kind = event.get("Type")
            if kind not in {"MSK", "SelfManagedKafka"}:
                continue
            properties = self.resolve(event.get("Properties", {}))
            group = properties.get("ConsumerGroupId") or (
                properties.get("AmazonManagedKafkaEventSourceConfig")
                or properties.get("SelfManagedKafkaEventSourceConfig")
                or {}
            ).get("ConsumerGroupId")
            retries = properties.get("MaximumRetryAttempts")
            sources.append(
                KafkaSource(
                    name=name,
                    kind=kind,
                    topics=tuple(properties.get("Topics", [])),
                    batch_size=int(properties.get("BatchSize", 100)),
                    batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0.5)),
                    starting_position=str(properties.get("StartingPosition", "LATEST")).upper(),
                    consumer_group_id=str(group or f"{self.stack_name}-{logical_id}{name}"),
                    cluster_arn=str(properties["Stream"])
                    if kind == "MSK" and "Stream" in properties
                    else None,
                    maximum_retry_attempts=int(retries) if retries is not None else None,
                    enabled=properties.get("Enabled", True) not in {False, "false"},
                )
            )
        return sources

    def _kafka_mappings(self, logical_id: str) -> list[KafkaSource]:
        """AWS::Lambda::EventSourceMapping resources for Kafka whose FunctionName is this function."""
        sources: list[KafkaSource] = []
        for mapping_id, resource in self.resources(EVENT_SOURCE_MAPPING).items():
            raw = resource.get("Properties", {})
            if raw.get("FunctionName") != {"Ref": logical_id} or "Topics" not in raw:
                continue
            properties = self.resolve(raw)
            self_managed = "SelfManagedEventSource" in properties
            config = properties.get(
                "SelfManagedKafkaEventSourceConfig"
                if self_managed
                else "AmazonManagedKafkaEventSourceConfig",
                {},
            )
            retries = properties.get("MaximumRetryAttempts")
            destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            arn = (
                properties.get("EventSourceArn")
                or f"arn:aws:kafka:{self.region}:{ACCOUNT_ID}:cluster/local/0"
            )
            sources.append(
                KafkaSource(
                    name=mapping_id,
                    kind="SelfManagedKafka" if self_managed else "MSK",
                    topics=tuple(properties["Topics"]),
                    batch_size=int(properties.get("BatchSize", 100)),
                    batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0.5)),
                    starting_position=str(properties.get("StartingPosition", "LATEST")).upper(),
                    consumer_group_id=str(config.get("ConsumerGroupId") or mapping_id),
                    cluster_arn=None if self_managed else str(arn),
                    maximum_retry_attempts=int(retries) if retries not in (None, "") else None,
                    enabled=properties.get("Enabled", True) not in {False, "false"},
                    bisect_on_error=str(properties.get("BisectBatchOnFunctionError", "false")).lower()
                    == "true",
                    on_failure_destination=str(destination) if destination else None,
                )
            )
        return sources

    def _sqs(self, events: Mapping[str, Any]) -> list[SqsSource]:
        sources: list[SqsSource] = []
        for name, event in events.items():
            if event.get("Type") != "SQS":
                continue
            raw = event.get("Properties", {})
            queue = raw.get("Queue")
            if not (isinstance(queue, dict) and "Fn::GetAtt" in queue):
                raise TemplateError(
                    f"SQS event {name}: Queue must be !GetAtt <queue>.Arn of a queue in the template"
                )
            target = queue["Fn::GetAtt"]
            queue_id = target.split(".", 1)[0] if isinstance(target, str) else target[0]
            properties = self.resolve({key: value for key, value in raw.items() if key != "Queue"})
            sources.append(
                SqsSource(
                    name=name,
                    queue_logical_id=queue_id,
                    batch_size=int(properties.get("BatchSize", 10)),
                    batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in properties.get("FunctionResponseTypes", []),
                    enabled=properties.get("Enabled", True) not in {False, "false"},
                    maximum_concurrency=_optional_int(
                        (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
                    ),
                )
            )
        return sources

    def _http_apis(self, events: Mapping[str, Any]) -> list[HttpApiSource]:
        sources: list[HttpApiSource] = []
        for name, event in events.items():
            if event.get("Type") != "HttpApi":
                continue
            properties = self.resolve(event.get("Properties", {})) or {}
            version = str(properties.get("PayloadFormatVersion", "2.0"))
            if version != "2.0":
                raise TemplateError(f"HttpApi event {name}: only PayloadFormatVersion 2.0 runs locally")
            path = properties.get("Path")
            timeout = properties.get("TimeoutInMillis")
            sources.append(
                HttpApiSource(
                    name=name,
                    method=str(properties.get("Method", "ANY"))
                    .upper()
                    .replace("X-AMAZON-APIGATEWAY-ANY-METHOD", "ANY"),
                    path=str(path) if path is not None else None,
                    timeout_millis=int(timeout) if timeout is not None else None,
                )
            )
        return sources

    def find_function(self, name: str) -> FunctionSpec:
        wanted = name.lower()
        specs = self.functions()
        for spec in specs:
            if wanted in spec.aliases:
                return spec
        short = sorted(spec.short_name for spec in specs)
        close = [one for one in short if one.startswith(wanted)] or difflib.get_close_matches(
            wanted, short, n=1
        )
        hint = f"did you mean {close[0]!r}? " if len(close) == 1 else ""
        raise TemplateError(
            f"no function {name!r} in {self.path.name}: {hint}name one of {', '.join(short)} "
            f"(or a logical id such as {specs[0].logical_id})"
        )


def _stack_id(region: str, stack_name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _samconfig(path: Path) -> tuple[str | None, str | None]:
    """stack_name and region from samconfig.toml's default environment, if the file has them."""
    if not path.exists():
        return None, None
    config = tomllib.loads(path.read_text())
    default = config.get("default", {})
    found: dict[str, str] = {}
    for section in ("global", "deploy"):
        found.update(default.get(section, {}).get("parameters", {}))
    return found.get("stack_name"), found.get("region")
