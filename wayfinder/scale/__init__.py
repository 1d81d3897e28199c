"""Running at an organisation's scale: ``simulate`` that writes its outputs as it goes (README "Scale")."""

from wayfinder.scale.simulate import OutOfOrder, StreamingRunner, simulate_streaming

__all__ = ["OutOfOrder", "StreamingRunner", "simulate_streaming"]
