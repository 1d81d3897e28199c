"""Safety at the command line's edge: logs that stay one line per record and carry no forged lines, and outputs
that keep nothing of an erased person."""

from wayfinder.safety.erasure import REDACTED, redact_dead_letters
from wayfinder.safety.logs import OneLineFormatter, configure_logging

__all__ = ["REDACTED", "OneLineFormatter", "configure_logging", "redact_dead_letters"]
