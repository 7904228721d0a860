#!/bin/bash
# LocalStack init hook (ready.d): the database secret the deployed stack reads, in the RDS secret
# format jobu.config expects. Host "postgres" is the compose service; the Lambda containers share
# its network (LAMBDA_DOCKER_NETWORK). Its ARN is printed for `sam deploy --parameter-overrides`.
set -euo pipefail
awslocal secretsmanager create-secret --name jobu/database \
  --secret-string '{"engine": "postgres", "host": "postgres", "port": 5432, "username": "postgres", "password": "", "dbname": "test"}' \
  --query ARN --output text
