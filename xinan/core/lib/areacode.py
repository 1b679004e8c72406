"""Area-code arithmetic, in one place.

A code is the 12-digit 统计用区划代码 (2 province, 2 city, 2 county, 3 town, 3 village) padded
with zeros below its level; a grid adds 3 digits to its village's code (15 digits). An area's
*prefix* is its significant digits, so "in this area" is "starts with the prefix". Everything
that cuts, pads or compares codes asks this module (models, scope, routing, search), so the
rules (a municipality is its own province; a zero segment is not a level) live once.
"""

CODE_LENGTH = 12
GRID_CODE_LENGTH = 15
PROVINCE_PREFIX_LENGTH = 2
# Significant digits at each level (keys are AreaLevel values).
LEVEL_PREFIX_LENGTH = {"city": 4, "district": 6, "town": 9, "village": 12, "grid": 15}
DISTRICT_PREFIX_LENGTH = LEVEL_PREFIX_LENGTH["district"]
TOWN_PREFIX_LENGTH = LEVEL_PREFIX_LENGTH["town"]
# The segment boundaries of a 12-digit code, deepest first.
_SEGMENTS = (12, 9, 6, 4, 2)


def pad(prefix: str) -> str:
    """The 12-digit code of the area whose significant digits are `prefix` (a grid's 15-digit
    code is returned as it is)."""
    return prefix if len(prefix) >= CODE_LENGTH else prefix.ljust(CODE_LENGTH, "0")


def prefix(code: str, level: str) -> str:
    """The significant digits of an area of `level`. A municipality (北京, 上海…) is its
    province: 310000 → "31"."""
    if level == "city" and code[2:4] == "00":
        return code[:PROVINCE_PREFIX_LENGTH]
    return code[: LEVEL_PREFIX_LENGTH[level]]


def ancestor_prefix(code: str, level: str) -> str:
    """The prefix of the area's ancestor at `level`, or the area's own prefix where it lies
    above `level`: ("310105001001", "district") → "310105"; ("310000000000", "district") →
    "31" (a city-wide course reaches the whole city)."""
    return significant(code)[: LEVEL_PREFIX_LENGTH[level]]


def significant(code: str) -> str:
    """The significant digits of a code whose level is not known: down to its deepest segment
    that is not all zeros (310105010000 → "310105010", not "31010501"); a grid code whole."""
    if len(code) > CODE_LENGTH:
        return code
    for end, start in zip(_SEGMENTS, (*_SEGMENTS[1:], 0), strict=True):
        if set(code[start:end]) - {"0"}:
            return code[:end]
    return code


def at_level(code: str, level: str) -> str:
    """The 12-digit code of the ancestor (or the area itself) at `level`:
    at_level("310105001001", "town") → "310105001000"."""
    return pad(code[: LEVEL_PREFIX_LENGTH[level]])


def province_code(code: str) -> str:
    """The 12-digit code of the area's province (or municipality): 310105001001 → 310000000000."""
    return pad(code[:PROVINCE_PREFIX_LENGTH])


def segment(code: str, level: str) -> str:
    """The digits an area of `level` adds to its parent's prefix: ("310105001000", "town") →
    "001"; a city's own two digits (a municipality's "00")."""
    own = LEVEL_PREFIX_LENGTH[level]
    parent = max(
        (n for n in LEVEL_PREFIX_LENGTH.values() if n < own), default=PROVINCE_PREFIX_LENGTH
    )
    return code[parent:own]


def child(code: str, level: str, n: int) -> str:
    """The code of the n-th child (from 1) of an area of `level`: its next segment set to n,
    zero-padded: ("310105001000", "town", 7) → "310105001007"; a village's grids get 15 digits.
    """
    own = LEVEL_PREFIX_LENGTH[level]
    below = min((m for m in LEVEL_PREFIX_LENGTH.values() if m > own), default=None)
    if below is None or level == "city":
        raise ValueError(f"no child codes below {level} here")
    width = below - own
    if not 0 < n < 10**width:
        raise ValueError(f"child number {n} does not fit {width} digits")
    return pad(code[:own] + f"{n:0{width}d}")


def ancestors(code: str) -> list[str]:
    """The codes of the area and all its ancestors, nearest first: 310105001001001 (grid) →
    the grid, village 310105001001, town 310105001000, district 310105000000, city
    310100000000, province/municipality 310000000000. Not a digit string: []."""
    code = (code or "").strip()
    if not code.isdigit():
        return []
    codes = [code] if len(code) > CODE_LENGTH else []
    for n in _SEGMENTS:
        candidate = pad(code[:n])
        if candidate not in codes:
            codes.append(candidate)
    return codes


def lineage(code: str, level: str) -> list[str]:
    """The codes of an area's ancestors from the root down to its parent (the municipality
    first, where there is one)."""
    own = len(prefix(code, level))
    codes = [pad(code[:n]) for n in LEVEL_PREFIX_LENGTH.values() if n < own]
    if level != "city":
        codes.insert(0, province_code(code))
    return codes


def within(code: str, prefixes) -> bool:
    """Whether `code` lies in any of the areas given by their prefixes."""
    return any(code.startswith(p) for p in prefixes)
