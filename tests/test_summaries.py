"""How a unit is named to its director."""

from __future__ import annotations

import pytest

from pipeline.summaries import addressee, full_unit_name


@pytest.mark.parametrize(
    "name, expected",
    [
        ("บ้านนาเฉลียง", "โรงเรียนบ้านนาเฉลียง"),
        ("โรงเรียนบ้านนาเฉลียง", "โรงเรียนบ้านนาเฉลียง"),
        ("  โรงเรียน บ้านห้วยไร่ ", "โรงเรียนบ้านห้วยไร่"),
        ("ร.ร.อนุบาลหล่มสัก", "โรงเรียนอนุบาลหล่มสัก"),
        ("รร. วัดศรีมงคล", "โรงเรียนวัดศรีมงคล"),
    ],
)
def test_a_school_is_named_in_full_once(name, expected):
    assert full_unit_name(name, "school") == expected
    assert addressee(name, "school") == "ผู้อำนวยการ" + expected


def test_the_office_keeps_its_own_name():
    office = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2"
    assert full_unit_name(office, "office") == office
    assert addressee(office, "office") == "ผู้อำนวยการสำนักงานเขตพื้นที่การศึกษาประถมศึกษาเพชรบูรณ์ เขต 2"
