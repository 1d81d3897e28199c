"""Safety at the command line's edge: logs that stay one line per record and carry no forged lines."""

from wayfinder.safety.logs import OneLineFormatter, configure_logging, escape_controls

__all__ = ["OneLineFormatter", "configure_logging", "escape_controls"]
