"""jobu_local: runs jobu-serverless on one machine, reading template.yaml as AWS would."""
