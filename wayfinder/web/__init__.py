"""``wayfinder serve``: people in the loop (review queue, task inbox, preferences, operations overview)."""
