"""The admin client the `jobu` CLI calls: client.AdminClient calls any route of the admin API (by its
route function) over one of two transports (transports): HTTP to an admin API, or in this process to
the admin function's own resolver on a database (services: the database and the local queues)."""
