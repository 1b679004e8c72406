"""The board's colours pass WCAG AA: every text colour in crisis.css against its background,
and the page's ink and link colours against every row background, computed from the CSS."""

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"
CRISIS_CSS = Path(__file__).resolve().parents[1] / "static" / "crisis" / "crisis.css"
AA_TEXT = 4.5
AA_GRAPHIC = 3.0  # non-text: the coverage cells and level stripes against white


def _root_vars() -> dict[str, str]:
    css = (STATIC / "css" / "xinan.css").read_text()
    root = re.search(r":root\s*\{([^}]*)\}", css).group(1)
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})", root))


VARS = _root_vars()


def _hex(value: str) -> str | None:
    value = value.strip()
    var = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if var:
        value = VARS[var.group(1)]
    m = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value)
    if not m:
        return None
    h = m.group(1)
    return "".join(c * 2 for c in h) if len(h) == 3 else h


def luminance(hex6: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex6[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def rules() -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", CRISIS_CSS.read_text(), flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body))
        found.append((selector.strip(), decls))
    return found


def _background(decls) -> str | None:
    value = decls.get("background") or decls.get("background-color") or ""
    return _hex(value.split()[0]) if value else None


def test_the_ratio_is_computed_as_wcag_defines_it():
    assert ratio("000000", "ffffff") == pytest.approx(21.0)
    assert ratio("777777", "ffffff") == pytest.approx(4.48, abs=0.01)


def test_every_text_colour_on_its_own_background_passes_aa():
    checked = []
    for selector, decls in rules():
        bg, fg = _background(decls), _hex(decls.get("color", ""))
        if bg and fg:
            checked.append((selector, ratio(fg, bg)))
    assert len(checked) >= 8, checked  # pills, badges, tags, the banner, the call button…
    failing = [(s, round(r, 2)) for s, r in checked if r < AA_TEXT]
    assert not failing, failing


def test_ink_and_links_pass_aa_on_every_row_background():
    """A row's background (overdue tint, the flash of a fresh row) keeps the page's ink and
    the link colour readable: the teal-on-dark-orange of old cannot come back."""
    rows = [
        (selector, _background(decls))
        for selector, decls in rules()
        if ("tr" in selector.split()[0] or selector in ("from", "to")) and _background(decls)
    ]
    assert len(rows) >= 2, rows
    link_colours = {"brand": _hex(VARS["--brand"]), "ink": _hex(VARS["--ink"])}
    overdue_link = next(_hex(d["color"]) for s, d in rules() if s == "tr.alert-row.overdue a")
    link_colours["overdue link"] = overdue_link
    failing = [
        (selector, name, round(ratio(colour, bg), 2))
        for selector, bg in rows
        for name, colour in link_colours.items()
        if ratio(colour, bg) < AA_TEXT
    ]
    assert not failing, failing


def test_level_stripes_and_coverage_cells_stand_out_from_white():
    graphics = [
        (selector, _hex(decls["box-shadow"].split()[-1]) if "box-shadow" in decls else None)
        for selector, decls in rules()
        if "td:first-child" in selector
    ] + [(s, _background(d)) for s, d in rules() if s.startswith(".cov-bar i.")]
    graphics = [(s, c) for s, c in graphics if c]
    assert len(graphics) >= 5, graphics
    failing = [(s, round(ratio(c, "ffffff"), 2)) for s, c in graphics if ratio(c, "ffffff") < 3]
    assert not failing, failing
