"""The data pipeline: pandas_preprocess -> pydantic_validator -> db_loader, and pipeline_fanout ->
pipeline_join for a folder of CSVs (see docs/pipeline.md).

Importing this package registers the three handlers and the built-in validation models. It
must stay light: pandas and pyarrow are imported by the handlers when they run, never here
(tests/unit/test_pipeline_cold_start.py checks it).
"""

from jobu_handlers.pipeline.fanout import PipelineFanout, PipelineJoin
from jobu_handlers.pipeline.handlers import DbLoader, PandasPreprocess, PydanticValidator
from jobu_handlers.pipeline.models import get_validation_model, validation_model, validation_model_names

__all__ = [
    "DbLoader",
    "PandasPreprocess",
    "PipelineFanout",
    "PipelineJoin",
    "PydanticValidator",
    "get_validation_model",
    "validation_model",
    "validation_model_names",
]
