"""Non-HTTP sources: files (CSV, JSON Lines), SQL tables (incremental), host metrics (/proc).

Each yields records ``{"key", "value", "source", "event_time_ms"}`` (``json_record(topic,
**record)`` produces one) and `BadRecord`s for the dead-letter topic, never raising for one bad
input item. Database drivers are imported only when a PostgreSQL URL is opened.
"""
from .config import SourceConfigError
from .cursor_store import Cursor, CursorMoved, CursorStore, SourceLeases, StateDbCursorStore
from .file_config import FileSourceConfig
from .file_source import read_records
from .host_metrics import (
    HostSample,
    Point,
    host_points,
    parse_diskstats,
    parse_meminfo,
    parse_net_dev,
    parse_proc_stat,
    point_record,
)
from .proc_reader import read_host_sample
from .records import BadRecord, SourceRecord
from .sample_store import StateDbSampleStore
from .sql_config import SqlSourceConfig
from .sql_readers import SqliteRowReader, open_row_reader
from .sql_source import Page, RowReader, SourceError, SourceUnavailable, SqlSource, StaleCursor

__all__ = [
    "BadRecord",
    "Cursor",
    "CursorMoved",
    "CursorStore",
    "FileSourceConfig",
    "HostSample",
    "Page",
    "Point",
    "RowReader",
    "SourceConfigError",
    "SourceError",
    "SourceLeases",
    "SourceRecord",
    "SourceUnavailable",
    "SqlSource",
    "SqlSourceConfig",
    "SqliteRowReader",
    "StaleCursor",
    "StateDbCursorStore",
    "StateDbSampleStore",
    "host_points",
    "open_row_reader",
    "parse_diskstats",
    "parse_meminfo",
    "parse_net_dev",
    "parse_proc_stat",
    "point_record",
    "read_host_sample",
    "read_records",
]
