"""The admin API over an API Gateway HTTP API: Powertools Event Handler routes over jobu.operations.

resolver builds the APIGatewayHttpResolver (validation on, OpenAPI at /openapi.json); routes/ holds
one router per noun; errors turns jobu's errors into {"error", "detail"} with their status codes;
services is what the routes run on (the store, the queues, the settings).
"""
