"""Every admin operation, written once: async functions over a JobStore (and the work queue or the
dead-letter queue where they need one), taking and returning pydantic models, raising jobu's own
errors (jobu.errors). The admin API (jobu.api) exposes them over HTTP; the `jobu` CLI and the
dashboard call the same functions, on a database URL or through the API.

Modules are nouns: cron_jobs, runs, rejected_records, dead_letters, health; paging holds the page
model they share.
"""
