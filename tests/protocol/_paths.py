"""Where the vendored official AI-Protocol data lives inside the test tree."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
OFFICIAL = TESTS / "fixtures" / "ai_protocol"
"""v1 providers and models, dist/v1 (compiled JSON)."""
COMPLIANCE = TESTS / "compliance" / "data"
"""The compliance mirror: v2 providers and contracts, dist/v2-alpha, compliance fixtures."""
MOCKS = COMPLIANCE / "tests" / "compliance" / "fixtures" / "providers"
