"""The local stack: template.yaml running on one machine, without Docker or an AWS account.

Modules: template (read the SAM template, create its tables and queues, resolve intrinsics), jwt_issuer
(the stand-in for Cognito), apigw (API Gateway HTTP API events and responses), pollers (SQS and DynamoDB
stream event sources) and stack (LocalStack, which runs it all; `python -m local` starts one).
"""
