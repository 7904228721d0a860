"""The local runtime: starts the AWS parts and the function host from template.yaml, wires the event
sources to the functions, and tells the other commands where everything is (the state file)."""
