"""The durable state of ``imgflow serve``: a folder holding moto's S3 objects, DynamoDB items, Step
Functions executions, EventBridge rules and the stack's own keys, so a local stack outlives its process.

``folder`` (where, checks before opening), ``schema`` (SQLite tables, format, migrations), ``store``
(open, restore, flush, close), one module per service (``s3``, ``dynamodb``, ``executions``, ``rules``),
``blobs`` (object bodies) and ``changes`` (the hooks that tell a flush what changed).
"""

from imgflow_tools.local.state.folder import FORMAT, StateRefused, default_dir, move_aside
from imgflow_tools.local.state.store import Restored, StateStore

__all__ = ["FORMAT", "Restored", "StateRefused", "StateStore", "default_dir", "move_aside"]
