"""An instrument as a small FHIR R4 Questionnaire, for exchange with other health systems.

Only what the definition knows goes in: LOINC codes where we hold them, option codes with their
scored value as ordinalValue (so a receiver can score reverse items correctly), and item text
only where it is installed, so a restricted instrument never leaks wording through the export.
"""

from typing import Any

from xinan.instruments.model import Instrument, Item

LOINC = "http://loinc.org"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
BASE = "urn:xinan:instrument"


def _slug(instrument: Instrument) -> str:
    return instrument.code.lower()


def _item(instrument: Instrument, item: Item, language: str) -> dict[str, Any]:
    text = item.text_en if language == "en" else item.text_zh
    entry: dict[str, Any] = {
        "linkId": item.id,
        "prefix": str(item.number),
        "type": item.answer_type if not item.options else "choice",
        # Skippable items (C-SSRS Q3–5 and the recency question) are asked only after a "yes".
        "required": not item.skippable,
    }
    if text:
        entry["text"] = text
    if item.loinc:
        entry["code"] = [{"system": LOINC, "code": item.loinc}]
    if item.options:
        system = f"{BASE}:{_slug(instrument)}:{instrument.version}:{item.id}"
        entry["answerOption"] = [
            {
                "valueCoding": {
                    "system": system,
                    "code": str(option.code),
                    "display": option.label_en if language == "en" else option.label_zh,
                },
                "extension": [{"url": ORDINAL_VALUE, "valueDecimal": option.value}],
            }
            for option in item.options
        ]
    return entry


def to_fhir_questionnaire(instrument: Instrument, language: str = "zh") -> dict[str, Any]:
    """A FHIR R4 Questionnaire resource (a plain dict, ready for json.dumps)."""
    questionnaire: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": f"{_slug(instrument)}-v{instrument.version}",
        "url": f"{BASE}:{_slug(instrument)}",
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.code.title() if ch.isalnum()),
        "title": instrument.name_en if language == "en" else instrument.name_zh,
        "status": "active",
        "language": "en" if language == "en" else "zh-CN",
        "copyright": f"{instrument.citation} Licence: {instrument.licence}. "
        f"{instrument.licence_note}",
        "item": [_item(instrument, item, language) for item in instrument.items],
    }
    panel = instrument.loinc.get("panel") or instrument.loinc.get("form")
    if panel:
        questionnaire["code"] = [{"system": LOINC, "code": panel}]
    return questionnaire
