"""TLS for the connectors: trusting an organisation's own CA, and telling a certificate that did not verify from a
network that did not answer (the one is fixed by configuration, the other by waiting)."""

from __future__ import annotations

import ssl
from pathlib import Path


def trusting(ca_file: Path, setting: str) -> ssl.SSLContext:
    """A TLS context that trusts the CAs in ``ca_file``; a file that is missing or holds no PEM certificate is a
    configuration error (ValueError) naming the ``setting``, before anything is sent."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except ssl.SSLError as e:  # before OSError: an SSLError is one
        msg = f"{setting}: {ca_file} holds no PEM CA certificate ({e.reason or 'unreadable'})"
        raise ValueError(msg) from e
    except OSError as e:
        msg = f"{setting}: cannot read {ca_file} ({e.strerror or type(e).__name__})"
        raise ValueError(msg) from e


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or anything in its chain of causes is a ``kind``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
