"""jobu_local: runs jobu-serverless on one machine, reading template.yaml as AWS would.

    commands/   the `jobu` command, one module per sub-command
    runtime/    the local runtime that wires the parts below together, and its state file
    aws/        the AWS services, emulated or reached: endpoint, scheduler, Kafka, SQS, CloudWatch Logs
    template/   what template.yaml says: functions, event sources, resources
    host/       the function host: one process per Lambda execution environment

A package imports only the packages listed below it, so there are no import circles.
"""
