"""What every long-running Wayfinder process shows its operators: health endpoints beside the metrics, the
standard process collectors and build info, and JSON log lines. Imports nothing else of Wayfinder, so the
worker, the deliverer and the web application all use it."""

from wayfinder.telemetry.collectors import add_standard_collectors
from wayfinder.telemetry.health import Check, HealthServer, Verdict, serve
from wayfinder.telemetry.logs import (
    LOG_FORMATS,
    TEXT_FORMAT,
    JsonFormatter,
    LogFormat,
    QuietRepeats,
    configure_logging,
    escape_controls,
    logging_config,
    one_line_records,
)

__all__ = ["LOG_FORMATS", "TEXT_FORMAT", "Check", "HealthServer", "JsonFormatter", "LogFormat", "QuietRepeats",
           "Verdict", "add_standard_collectors", "configure_logging", "escape_controls", "logging_config",
           "one_line_records", "serve"]
