"""Shells that drive the core: the embedded runner and the effect interpreter here; the Faust worker in
``wayfinder.streams.app`` (``create_app``), imported on its own because it loads Faust."""

from wayfinder.streams.embedded import EmbeddedRunner, ReadEvents, read_event_file, read_events
from wayfinder.streams.interpreter import Port, audit_record, carry_out

__all__ = ["EmbeddedRunner", "Port", "ReadEvents", "audit_record", "carry_out", "read_event_file", "read_events"]
