"""Operations: ``wayfinder status``, one look at a running installation from Kafka and the processes' health and
metrics endpoints."""
