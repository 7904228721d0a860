"""Who the tests say acts, when they call an operation directly (the audit trail records it)."""

from __future__ import annotations

from jobu.operations.audit import Actor

TEST_ACTOR = Actor("test:direct", request_id="test-request")
