"""Reading request and response models.

Request bodies are a union discriminated by `type` with one strict model per reading type, so the
OpenAPI document shows each type's fields. These models check structure only (field names and
JSON types, an offset on every timestamp); units, conversions and plausible ranges are
`units.normalize`'s job, done by ingest, so that a batch reports every item's problems with
the same messages a single POST gets. The schema still declares them (`_declare_numbers`, from
the catalog and `units.accepted_range`), so a body valid by the schema is never refused for its
numbers. Read-backs are in `reads.py`.

A batch validates its items one by one (`ReadingItem`): an invalid item becomes an
`InvalidReading` carrying its field errors instead of failing the whole request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    Strict,
    TypeAdapter,
    ValidationError,
)

from app.errors import FieldError
from app.field_messages import field_message
from app.readings import catalog, units
from app.schemas import StrictModel, Timestamp, Timezone, one_of_constraints

MAX_BATCH = 1000

SourceKind = Literal["device", "manual", "lab", "integration"]
ReadingType = Literal[
    "blood_pressure",
    "heart_rate",
    "glucose",
    "weight",
    "height",
    "waist",
    "steps",
    "hba1c",
    "ldl",
    "total_cholesterol",
    "hdl",
    "triglycerides",
    "egfr",
    "uacr",
]
# JSON numbers only (true/false and numeric strings are refused); range checks happen later.
Number = Annotated[float, Strict()]


class Source(StrictModel):
    kind: SourceKind = "manual"
    device_id: uuid.UUID | None = Field(
        None, description="One of the patient's own registered, unrevoked devices."
    )


def _number_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON number of a field's schema (an optional field's is a branch of `anyOf`)."""
    branches = schema.get("anyOf", [schema])
    return next(b for b in branches if b.get("type") == "number")


def _declare_numbers(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Declares what `units.normalize` enforces on a type's numbers: whole numbers, and the
    accepted range, which depends on the unit when the type has several (one `oneOf` branch per
    unit). The description gives the range as a person reads it."""
    if "type" not in model.model_fields:
        return
    (name,) = get_args(model.model_fields["type"].annotation)
    by_unit: dict[str, dict[str, Any]] = {}
    for f in catalog.READING_TYPES[name].numeric:
        field_schema = schema["properties"][f.name]
        note = field_schema.get("description")
        text = units.range_text(f, *f.alternatives) + (", whole number" if f.integer else "")
        field_schema["description"] = f"{text}. {note}" if note else f"{text}."
        number = _number_schema(field_schema)
        if f.integer:
            number["type"] = "integer"
        bounds = {unit: units.accepted_range(f, unit) for unit in f.accepted_units}
        # A whole-number field's edges as JSON integers (40, not 40.0).
        as_json = int if f.integer else float
        if not f.alternatives:
            low, high = bounds[f.unit]
            number["minimum"], number["maximum"] = as_json(low), as_json(high)
            continue
        for unit, (low, high) in bounds.items():
            branch = by_unit.setdefault(unit, {"properties": {"unit": {"const": unit}}})
            branch["properties"][f.name] = {"minimum": as_json(low), "maximum": as_json(high)}
    if by_unit:
        one_of_constraints(schema, list(by_unit.values()))
    _name_units(schema)


def unit_identifier(unit: str) -> str:
    """A UCUM unit as a name in generated code: `[lb_av]` LB_AV, `mg/dL` MG_PER_DL, `%` PERCENT,
    `mL/min/{1.73_m2}` ML_PER_MIN_PER_1_73_M2."""
    if unit == "%":
        return "PERCENT"
    return "_".join(re.findall(r"[A-Za-z0-9]+", unit.replace("/", " per "))).upper()


def _name_units(schema: dict[str, Any]) -> None:
    """Names each accepted unit for client generators (`x-enum-varnames`, read by
    openapi-python-client and openapi-generator): a unit is rarely a valid identifier, and a
    generator falls back on its position (`VALUE_1` for `[lb_av]`) or drops its symbols
    (`MGDL`)."""
    unit = schema["properties"].get(catalog.UNIT_FIELD)
    for branch in unit.get("anyOf", [unit]) if unit else ():
        if "enum" in branch:
            branch["x-enum-varnames"] = [unit_identifier(u) for u in branch["enum"]]


class _ReadingBase(StrictModel):
    model_config = ConfigDict(json_schema_extra=_declare_numbers)

    client_id: uuid.UUID | None = Field(
        None, description="The client's id for this reading; a resend with it is a duplicate."
    )
    effective_at: Timestamp = Field(
        description="When it was measured, RFC 3339 with an offset: from 2000-01-01 to at most"
        " 10 minutes ahead."
    )
    timezone: Timezone | None = Field(
        None,
        description="IANA zone where it was measured, kept as sent (default: the patient's);"
        " the local day is always the patient's.",
    )
    source: Source | None = Field(
        None, description="Provenance; a device token's readings are always its own."
    )


class BloodPressureIn(_ReadingBase):
    type: Literal["blood_pressure"]
    systolic: Number
    diastolic: Number = Field(description="Below systolic.")
    pulse: Number | None = None


class HeartRateIn(_ReadingBase):
    type: Literal["heart_rate"]
    value: Number
    unit: Literal["/min"] | None = None


class GlucoseIn(_ReadingBase):
    type: Literal["glucose"]
    value: Number
    unit: Literal["mg/dL", "mmol/L"]
    specimen: Literal["capillary", "interstitial", "venous"] | None = Field(
        None, description="`interstitial` for CGM (default for a CGM device's readings)."
    )
    meal: Literal["fasting", "before_meal", "after_meal", "random"] | None = None


class WeightIn(_ReadingBase):
    type: Literal["weight"]
    value: Number
    unit: Literal["kg", "[lb_av]"]


class HeightIn(_ReadingBase):
    type: Literal["height"]
    value: Number
    unit: Literal["cm", "[in_i]"]


class WaistIn(_ReadingBase):
    type: Literal["waist"]
    value: Number
    unit: Literal["cm", "[in_i]"]


class StepsIn(_ReadingBase):
    type: Literal["steps"]
    count: Number = Field(description="Steps in the interval.")
    end_at: Timestamp = Field(
        description="End of the interval (after effective_at, at most one local day, 25 h)."
    )


class Hba1cIn(_ReadingBase):
    type: Literal["hba1c"]
    value: Number
    unit: Literal["%", "mmol/mol"]


class _LipidIn(_ReadingBase):
    value: Number = Field(description="mmol/L is converted to mg/dL on input.")
    unit: Literal["mg/dL", "mmol/L"]


class LdlIn(_LipidIn):
    type: Literal["ldl"]
    method: Literal["direct", "calculated"] | None = Field(
        None,
        description="`direct` (measured, LOINC 18262-6; the default) or `calculated` (from the"
        " other lipids, LOINC 13457-7).",
    )


class TotalCholesterolIn(_LipidIn):
    type: Literal["total_cholesterol"]


class HdlIn(_LipidIn):
    type: Literal["hdl"]


class TriglyceridesIn(_LipidIn):
    type: Literal["triglycerides"]


class EgfrIn(_ReadingBase):
    type: Literal["egfr"]
    value: Number
    unit: Literal["mL/min/{1.73_m2}"] | None = None


class UacrIn(_ReadingBase):
    type: Literal["uacr"]
    value: Number
    unit: Literal["mg/g"] | None = None


ReadingModel = (
    BloodPressureIn
    | HeartRateIn
    | GlucoseIn
    | WeightIn
    | HeightIn
    | WaistIn
    | StepsIn
    | Hba1cIn
    | LdlIn
    | TotalCholesterolIn
    | HdlIn
    | TriglyceridesIn
    | EgfrIn
    | UacrIn
)
ReadingCreate = Annotated[ReadingModel, Field(discriminator="type")]
READING_TYPE_NAMES: tuple[str, ...] = get_args(ReadingType)


class InvalidReading(BaseModel):
    """An item that failed structural validation (never stored)."""

    errors: list[FieldError]


_READING = TypeAdapter[ReadingModel](ReadingCreate)


def _message(error: Any) -> str:
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        return f"type is required and must be one of: {', '.join(READING_TYPE_NAMES)}"
    return field_message(error)


def _path(error: Any) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    # A discriminated union puts the tag first (`blood_pressure.systolic`); the client's field
    # is `systolic`.
    if loc and loc[0] in READING_TYPE_NAMES:
        loc = loc[1:]
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        return "type"
    return ".".join(loc) or "body"


def field_errors(exc: ValidationError) -> list[FieldError]:
    return [FieldError(path=_path(e), message=_message(e)) for e in exc.errors()]


def validate_reading(value: Any) -> ReadingModel | InvalidReading:
    """One reading body as the batch sees it: the typed model, or its field errors."""
    try:
        return _READING.validate_python(value)
    except ValidationError as exc:
        return InvalidReading(errors=field_errors(exc))


ReadingItem = Annotated[
    ReadingModel | InvalidReading,
    PlainValidator(validate_reading, json_schema_input_type=ReadingCreate),
]
"""The body of a single POST: a reading, or a 422 naming its problems."""


class NotAReading(RootModel[Any]):
    """Anything else a batch may carry: it is answered as that item's `invalid` result."""

    # JSON Schema's `properties` constrain objects only, so this still admits any value; with a
    # property, client generators see an object (a client may send one with any fields) rather
    # than a bare `Any` that would erase the reading models beside it in the item's type.
    model_config = ConfigDict(
        json_schema_extra={"properties": {"type": {"description": "Any value at all."}}}
    )


BatchItem = Annotated[
    ReadingModel | InvalidReading,
    PlainValidator(validate_reading, json_schema_input_type=ReadingCreate | NotAReading),
]
"""An item of a batch. The schema admits any value, as the server does: the batch is stored,
and an item that is not a valid reading (`ReadingCreate`) is reported in its result."""


class ReadingBatch(StrictModel):
    readings: list[BatchItem] = Field(
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} readings. An item that is not a valid reading is"
        " answered as invalid in its result; the valid ones are stored.",
    )


class IngestResult(BaseModel):
    id: uuid.UUID
    status: Literal["created", "duplicate"]


class BatchItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "invalid"]
    id: uuid.UUID | None = None
    errors: list[FieldError] | None = None


class BatchResult(BaseModel):
    results: list[BatchItemResult]


class DailyItem(BaseModel):
    date: date
    component: str = Field(description="The numeric field (`systolic`, `value`, `count`...).")
    count: int
    mean: float
    min: float
    max: float
    sum: float


class DailyList(BaseModel):
    type: ReadingType
    unit: str
    items: list[DailyItem]


class GlucoseMetricsRead(BaseModel):
    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    mean_mg_dl: float | None
    gmi_percent: float | None
    cv_percent: float | None
    tir_percent: float | None
    tbr_70_percent: float | None
    tbr_54_percent: float | None
    tar_180_percent: float | None
    tar_250_percent: float | None
    days_with_data: int
    readings: int
    wear_percent: float
    sufficient: bool


def first_problem_summary(errors: Sequence[FieldError]) -> str:
    return "; ".join(f"{e.path}: {e.message}" for e in errors[:3])
