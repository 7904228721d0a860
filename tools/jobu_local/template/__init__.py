"""What template.yaml says: the YAML with CloudFormation tags, intrinsic functions, and the
functions with their event sources, queues and log groups as the local runtime reads them."""
