"""CloudWatch Logs: where function log lines are written, and filter patterns as CloudWatch reads them."""
