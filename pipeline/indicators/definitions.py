"""Indicator definitions: what is counted, who is counted, and what counts as evidence.

The evidence rule comes from a small fixed vocabulary that the code
implements (see ``RULES``); config chooses a rule and its parameters, never code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.config import read_toml, validation_error
from pipeline.errors import ConfigError

#: rule -> (the unit it measures, whether it takes `kinds`)
RULES: dict[str, tuple[str, bool]] = {
    "has_id_plan": ("staff", False),
    "completed_kinds": ("staff", True),
    "matches_survey_need": ("staff", False),
    "unit_has_kinds": ("unit", True),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Population(Strict):
    """Who is counted. Empty means everyone (every person, or every unit)."""

    positions: list[str] = []
    unit_kind: Literal["school", "office"] | None = None
    unit_flag: Literal["stem"] | None = None


class Evidence(Strict):
    rule: Literal["has_id_plan", "completed_kinds", "matches_survey_need", "unit_has_kinds"]
    kinds: list[str] = []

    @model_validator(mode="after")
    def _kinds_fit_rule(self) -> "Evidence":
        takes_kinds = RULES[self.rule][1]
        if takes_kinds and not self.kinds:
            raise ValueError(f"กฎ '{self.rule}' ต้องระบุ kinds (ประเภทการพัฒนาที่นับ)")
        if not takes_kinds and self.kinds:
            raise ValueError(f"กฎ '{self.rule}' ไม่ใช้ kinds")
        return self


class Indicator(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    strategy: int
    project: str = ""
    name: str
    short_name: str
    unit: Literal["staff", "unit"]
    population: Population = Population()
    evidence: Evidence
    targets: dict[int, int | float] = {}

    @model_validator(mode="after")
    def _rule_fits_unit(self) -> "Indicator":
        rule_unit = RULES[self.evidence.rule][0]
        if rule_unit != self.unit:
            raise ValueError(f"กฎ '{self.evidence.rule}' ใช้กับ unit = \"{rule_unit}\" เท่านั้น")
        if self.unit == "unit" and self.population.positions:
            raise ValueError("ตัวชี้วัดที่นับหน่วยงาน (unit = \"unit\") กำหนด positions ไม่ได้")
        return self

    def target(self, year: int) -> int | float | None:
        """The target percent for fiscal year ``year``, or None when the plan sets none."""
        return self.targets.get(year)


class IndicatorFile(Strict):
    indicator: list[Indicator]


def load_indicators(path: str | Path, development_kinds: list[str] | None = None) -> list[Indicator]:
    """Indicators from a TOML file, checked against the known development kinds."""
    path = Path(path)
    try:
        parsed = IndicatorFile.model_validate(read_toml(path))
    except ValidationError as exc:
        raise validation_error(path, exc, what="ไฟล์ตัวชี้วัด") from None
    ids = [i.id for i in parsed.indicator]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise ConfigError(
            f"ไฟล์ตัวชี้วัด {path}: id ซ้ำกัน: {', '.join(duplicated)}",
            "ตั้ง id ของแต่ละตัวชี้วัดให้ไม่ซ้ำกัน",
        )
    if development_kinds is not None:
        for number, ind in enumerate(parsed.indicator):
            unknown = [k for k in ind.evidence.kinds if k not in development_kinds]
            if unknown:
                raise ConfigError(
                    f"ไฟล์ตัวชี้วัด {path}: indicator.{number}.evidence.kinds ของ '{ind.id}' "
                    f"มีประเภทที่ไม่รู้จัก: {', '.join(unknown)}",
                    "ใช้ประเภทจาก vocabulary.development_kinds ในไฟล์ตั้งค่า "
                    f"({', '.join(development_kinds)}) หรือเพิ่มประเภทนั้นในรายการ",
                )
    return list(parsed.indicator)
