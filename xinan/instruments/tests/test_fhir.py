"""The FHIR R4 Questionnaire export: codes, scored values and no leaked restricted wording."""

import json

from xinan.instruments.fhir import ORDINAL_VALUE, to_fhir_questionnaire
from xinan.instruments.registry import get_instrument, list_instruments


def ordinals(item):
    return [
        (o["valueCoding"]["code"], o["extension"][0]["valueDecimal"]) for o in item["answerOption"]
    ]


def test_it_exports_phq9_with_loinc_codes_and_text():
    q = to_fhir_questionnaire(get_instrument("PHQ-9"))
    assert q["resourceType"] == "Questionnaire" and q["status"] == "active"
    assert q["code"] == [{"system": "http://loinc.org", "code": "44249-1"}]
    assert [i["linkId"] for i in q["item"]] == [str(n) for n in range(1, 10)]
    nine = q["item"][8]
    assert nine["code"][0]["code"] == "44260-8" and "伤害自己" in nine["text"]
    assert ordinals(nine) == [("0", 0), ("1", 1), ("2", 2), ("3", 3)]
    assert to_fhir_questionnaire(get_instrument("PHQ-9"), "en")["item"][0]["text"].startswith(
        "Little interest"
    )


def test_it_carries_reverse_scoring_as_ordinal_values_and_no_restricted_text():
    q = to_fhir_questionnaire(get_instrument("EPDS"))
    assert q["code"][0]["code"] == "71354-5"
    assert ordinals(q["item"][0]) == [("0", 0), ("1", 1), ("2", 2), ("3", 3)]
    assert ordinals(q["item"][2]) == [("0", 3), ("1", 2), ("2", 1), ("3", 0)]  # item 3 reversed
    assert all("text" not in item for item in q["item"])


def test_it_marks_free_entry_and_skippable_items():
    psqi = {i["linkId"]: i for i in to_fhir_questionnaire(get_instrument("PSQI"))["item"]}
    assert (psqi["q1"]["type"], psqi["q2"]["type"], psqi["q4"]["type"]) == (
        "time",
        "integer",
        "decimal",
    )
    assert psqi["q5a"]["type"] == "choice"
    cssrs = {
        i["linkId"]: i for i in to_fhir_questionnaire(get_instrument("C-SSRS-SCREENER"))["item"]
    }
    assert cssrs["q2"]["required"] and not cssrs["q3"]["required"]


def test_every_instrument_exports_to_json():
    for instrument in list_instruments():
        q = json.loads(json.dumps(to_fhir_questionnaire(instrument), ensure_ascii=False))
        assert len(q["item"]) == len(instrument.items)
        for item in q["item"]:
            for option in item.get("answerOption", []):
                assert option["extension"][0]["url"] == ORDINAL_VALUE
