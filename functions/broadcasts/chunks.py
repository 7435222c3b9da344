"""A chunk's openids, stored in parts (models.py says why), and read back for its mass/send.

Kept apart from domain.py so the notification worker's channel (functions/notifications/
channels.py) reads chunks without importing what the send job needs (segments, orders).
"""

from __future__ import annotations

from functions.broadcasts.models import ChunkPartRow, broadcast_pk

PART_SIZE = 2_000  # openids per ChunkPartRow: at most ~140 KB, under the 400 KB item limit


def part_row(broadcast_id: str, number: int, part: int, openids: list[str]) -> ChunkPartRow:
    return ChunkPartRow(broadcast_pk(broadcast_id), f"P#{number:05d}#{part:02d}", openids=openids)


def chunk_openids(broadcast_id: str, number: int) -> list[str]:
    """The openids of chunk `number`, in order (its parts sort by key)."""
    openids: list[str] = []
    for part in ChunkPartRow.query(
        broadcast_pk(broadcast_id), ChunkPartRow.sk.startswith(f"P#{number:05d}#"), consistent_read=True
    ):
        openids.extend(part.openids)
    return openids
