from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def count_of(figures, key):
    return figures.counts.get(key, 0)


@register.filter
def rate_of(figures, key):
    value = figures.rates.get(key)
    return "—" if value is None else f"{value:.1f}%"


@register.filter
def permille(figures):
    value = figures.prevalence
    return "—" if value is None else f"{value:.2f}‰"


@register.filter
def measure_rate(figures, key):
    from xinan.smd.indicators import RATE_BY_MEASURE

    rate = RATE_BY_MEASURE.get(key)
    return rate_of(figures, rate) if rate else ""


@register.filter
def tr_lines(text):
    """Each line of a data text (the spec's actions) in the user's language where known."""
    return [gettext(line.strip()) for line in (text or "").splitlines() if line.strip()]
