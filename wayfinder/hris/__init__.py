"""Connect the HR systems people already run: snapshot imports of daily exports, and webhook intake."""

from wayfinder.hris.diff import CORRECTION, Change, Context, compare, event_id, to_event
from wayfinder.hris.mapping import Mapping, MappingError, load_mapping
from wayfinder.hris.records import RowError, to_record
from wayfinder.hris.snapshot import Paths, SnapshotError, Summary, run_import

__all__ = [
    "CORRECTION",
    "Change",
    "Context",
    "Mapping",
    "MappingError",
    "Paths",
    "RowError",
    "SnapshotError",
    "Summary",
    "compare",
    "event_id",
    "load_mapping",
    "run_import",
    "to_event",
    "to_record",
]
