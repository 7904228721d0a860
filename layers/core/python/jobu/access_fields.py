"""jobu.access's request types as pydantic types, for handlers whose params are a pydantic model
(the pipeline's): each field's JSON Schema carries `x-jobu-access`, as jobu.access's schemas do.

Kept apart from jobu.access, which the default pool's worker imports at cold start without pydantic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from jobu.access import ACCESS_SCHEMA_KEY, DATABASE_NAME_PATTERN

# A local path under the data root, or s3://bucket/key under the allowed locations.
DataPath = Annotated[str, Field(min_length=1, json_schema_extra={ACCESS_SCHEMA_KEY: "data_path"})]
# A database by the name operators gave it (JOBU_LOAD_DATABASES), or "jobstore".
DatabaseName = Annotated[
    str, Field(pattern=DATABASE_NAME_PATTERN, json_schema_extra={ACCESS_SCHEMA_KEY: "database"})
]
# A table (or schema.table) that JOBU_LOAD_TABLES allows on the run's database.
TableName = Annotated[str, Field(min_length=1, json_schema_extra={ACCESS_SCHEMA_KEY: "table"})]
