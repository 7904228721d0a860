"""jobu: the shared core of jobu-serverless (job store, dispatch, worker and handler API)."""
