"""The dashboard: an operator's pages over the admin API, served on loopback (`jobu local up`,
`make demo`, `jobu dashboard --stack-name NAME`). server serves the pages in static/ and proxies
/api/* to the admin API (signed with SigV4 on AWS: jobu_local.aws.sigv4); run_logs reads a run's
log lines with the same reader as `jobu logs`.
"""
