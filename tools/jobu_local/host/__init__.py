"""The function host: Lambda's execution environments played by local processes.

`container` starts and invokes one environment (cold start, warm reuse, timeouts, platform log
records); `bootstrap` is the code that runs inside it; `context` is the handler's context object.
"""
