"""The AWS services the local runtime plays or reaches: the endpoint (embedded moto server,
LocalStack or AWS) and the template's resources in it, EventBridge Scheduler, the Kafka broker and
its event source mapping, the SQS event source mapping, and CloudWatch Logs."""
