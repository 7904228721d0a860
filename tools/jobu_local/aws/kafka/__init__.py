"""Kafka: the embedded broker, and the MSK / self-managed Kafka event source mapping with its events."""
