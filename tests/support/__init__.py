"""What the tests and the benchmarks share: the Lambda harness, events and function environments
read from template.yaml, private database servers, the admin client's test double, pipeline steps
run on their own. bench/ imports from here; tests never import bench's helpers."""
