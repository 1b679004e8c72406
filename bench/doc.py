"""docs/benchmarks.md is written by several benchmarks, each owning one part: a part starts at
its heading and runs to the next known part's heading. A benchmark replaces only its own part,
so running one never drops another's figures."""

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

# Every part's first line, in the order of the file. bench.run writes the head, which holds
# (a), (b), (c) and their readings.
PARTS = [
    "# Benchmarks",
    "## (d) Crisis alert latency",
    "## (e) The worker under backlog and faults",
    "## (network) Booking, vouchers and the site finder",
    "## Closed loop",
]


def _split(text: str) -> dict[str, str]:
    """The file's parts by their heading mark; text before the first mark is dropped."""
    found = sorted(
        (text.find(m if m.startswith("# ") else "\n" + m), m)
        for m in PARTS
        if (text.startswith(m) if m.startswith("# ") else ("\n" + m) in text)
    )
    parts = {}
    for i, (start, mark) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(text)
        parts[mark] = text[start:end].strip("\n") + "\n"
    return parts


def write_part(mark: str, body: str, doc: Path = DOC) -> None:
    """Replace the part headed `mark` (one of PARTS) with `body`, which starts with it."""
    if mark not in PARTS:
        raise ValueError(f"unknown part {mark!r}: add it to bench.doc.PARTS")
    if not body.lstrip("\n").startswith(mark):
        raise ValueError(f"the part must start with its heading {mark!r}")
    parts = _split(doc.read_text(encoding="utf-8")) if doc.exists() else {}
    parts[mark] = body.strip("\n") + "\n"
    text = "\n".join(parts[m] for m in PARTS if m in parts)
    doc.write_text(text, encoding="utf-8")
