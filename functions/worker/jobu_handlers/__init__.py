"""The handlers this worker runs. Importing the package registers them.

Keep module imports light: the worker imports this package at cold start, so heavy libraries
(pandas, pyarrow) are imported inside the handlers that use them.
"""

from jobu_handlers import pipeline as pipeline  # the data pipeline handlers (issue 5)
from jobu_handlers import samples

__all__ = ["samples"]
