"""How the replay cuts a recorded stream into HTTP chunks."""

from __future__ import annotations

import random

MAX_CHUNK = 97


def chunk_plan(data: bytes, seed: str) -> list[int]:
    """Chunk sizes between 1 and MAX_CHUNK, reproducible per seed.

    Where the data holds multi-byte UTF-8 characters, the first one and then every
    few others are cut in the middle, so a decoder that decodes chunk by chunk fails.
    """
    rng = random.Random(seed)
    cuts: set[int] = set()
    pos = 0
    while pos < len(data):
        pos += rng.randint(1, MAX_CHUNK)
        if pos < len(data):
            cuts.add(pos)
    # Force a cut inside multi-byte characters (lead byte >= 0xC0 starts one).
    lead_positions = [i for i, b in enumerate(data) if b >= 0xC0]
    for n, i in enumerate(lead_positions):
        if n % 3 == 0 and i + 1 < len(data):
            cuts.add(i + 1)
    sizes: list[int] = []
    last = 0
    for cut in sorted(cuts):
        # Keep every chunk within 1..MAX_CHUNK: forced cuts only ever shorten chunks.
        sizes.append(cut - last)
        last = cut
    if last < len(data):
        sizes.append(len(data) - last)
    return sizes
