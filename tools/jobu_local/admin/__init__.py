"""The admin operations as the `jobu` CLI calls them: one client interface (client.AdminClient, one
method per route of the admin API), on a database (direct: jobu.operations over a JobStore) or on
an admin API (http: SigV4-signed requests, answers parsed with the operations' own models)."""
