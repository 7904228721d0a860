"""The `jobu` command: one module per sub-command (`local`, `produce`, `logs`, `runs`, `cron`,
`demo`), assembled by `cli`."""
