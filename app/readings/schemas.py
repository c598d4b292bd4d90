"""Reading request and response models.

Request bodies are a union discriminated by `type` with one strict model per reading type, so the
OpenAPI document shows each type's fields. These models check structure only (field names and
JSON types, an offset on every timestamp); units, conversions and plausible ranges are
`units.normalize`'s job, done by ingest, so that a batch reports every item's problems with
the same messages a single POST gets.

A batch validates its items one by one (`ReadingItem`): an invalid item becomes an
`InvalidReading` carrying its field errors instead of failing the whole request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    PlainValidator,
    SerializerFunctionWrapHandler,
    Strict,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from app.errors import FieldError
from app.schemas import StrictModel, Timezone

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


class _ReadingBase(StrictModel):
    client_id: uuid.UUID | None = Field(
        None, description="The client's id for this reading; a resend with it is a duplicate."
    )
    effective_at: AwareDatetime = Field(
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
    systolic: Number = Field(description="mm[Hg], whole number, 40-300.")
    diastolic: Number = Field(description="mm[Hg], whole number, 20-200, below systolic.")
    pulse: Number | None = Field(None, description="/min, whole number, 20-300.")


class HeartRateIn(_ReadingBase):
    type: Literal["heart_rate"]
    value: Number = Field(description="/min, whole number, 20-300.")
    unit: Literal["/min"] | None = None


class GlucoseIn(_ReadingBase):
    type: Literal["glucose"]
    value: Number = Field(description="10-1000 mg/dL (0.6-55.5 mmol/L).")
    unit: Literal["mg/dL", "mmol/L"]
    specimen: Literal["capillary", "interstitial", "venous"] | None = Field(
        None, description="`interstitial` for CGM (default for a CGM device's readings)."
    )
    meal: Literal["fasting", "before_meal", "after_meal", "random"] | None = None


class WeightIn(_ReadingBase):
    type: Literal["weight"]
    value: Number = Field(description="20-400 kg (44.1-881.8 [lb_av]).")
    unit: Literal["kg", "[lb_av]"]


class HeightIn(_ReadingBase):
    type: Literal["height"]
    value: Number = Field(description="50-250 cm (19.7-98.4 [in_i]).")
    unit: Literal["cm", "[in_i]"]


class WaistIn(_ReadingBase):
    type: Literal["waist"]
    value: Number = Field(description="40-250 cm (15.8-98.4 [in_i]).")
    unit: Literal["cm", "[in_i]"]


class StepsIn(_ReadingBase):
    type: Literal["steps"]
    count: Number = Field(description="Steps in the interval, whole number, 0-100000.")
    end_at: AwareDatetime = Field(
        description="End of the interval (after effective_at, at most one local day, 25 h)."
    )


class Hba1cIn(_ReadingBase):
    type: Literal["hba1c"]
    value: Number = Field(description="3-20 % (10-191 mmol/mol).")
    unit: Literal["%", "mmol/mol"]


class _LipidIn(_ReadingBase):
    value: Number = Field(description="mg/dL, or mmol/L converted on input.")
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
    value: Number = Field(description="mL/min/{1.73_m2}, 1-200.")
    unit: Literal["mL/min/{1.73_m2}"] | None = None


class UacrIn(_ReadingBase):
    type: Literal["uacr"]
    value: Number = Field(description="mg/g, 0-50000.")
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
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "timezone_aware":
        return "must be a timestamp with an offset (RFC 3339, e.g. 2026-03-10T23:30:00-04:00)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"type is required and must be one of: {', '.join(READING_TYPE_NAMES)}"
    return str(error.get("msg", "invalid value"))


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


class ReadingBatch(StrictModel):
    readings: list[ReadingItem] = Field(
        max_length=MAX_BATCH, description=f"Up to {MAX_BATCH} readings."
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


class SourceRead(BaseModel):
    kind: SourceKind
    device_id: uuid.UUID | None = None


# Type fields shown only when the reading has them (a weight has no `systolic: null`).
TYPE_FIELDS = (
    "systolic",
    "diastolic",
    "pulse",
    "value",
    "count",
    "specimen",
    "meal",
    "method",
    "end_at",
)


class ReadingRead(BaseModel):
    id: uuid.UUID
    type: ReadingType
    client_id: uuid.UUID | None
    effective_at: datetime = Field(description="With the offset it was sent with.")
    timezone: str = Field(description="The zone it was sent with (default: the patient's).")
    local_date: date = Field(description="The patient's local day the reading counts for.")
    code: str = Field(description="LOINC code.")
    unit: str = Field(description="UCUM unit of the values (canonical).")
    source: SourceRead
    eligible: bool = Field(description="Whether it may count toward outcome measures.")
    received_at: datetime
    deleted_at: datetime | None = None
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    value: float | None = None
    count: int | None = None
    specimen: str | None = None
    meal: str | None = None
    method: str | None = None
    end_at: datetime | None = None

    @model_serializer(mode="wrap")
    def _drop_absent_type_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in TYPE_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)
        source = data.get("source")
        if isinstance(source, dict) and source.get("device_id") is None:
            source.pop("device_id", None)
        return data


class ReadingChange(BaseModel):
    op: Literal["upsert", "delete"]
    reading: ReadingRead


class ChangesPage(BaseModel):
    changes: list[ReadingChange]
    next_cursor: str | None = Field(
        description="Pass it back to get later changes; it is returned even when nothing is new."
    )
    has_more: bool


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
