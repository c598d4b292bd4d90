from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.schemas import ReadModel, StrictModel, TextLine, integral, one_of_constraints

DeviceKind = Literal["bp_cuff", "glucometer", "cgm", "scale", "wearable"]
# docs/rules.md "Data rules": only an upper-arm cuff makes eligible blood pressure.
Placement = Literal["upper_arm", "wrist"]
DEFAULT_CUFF_PLACEMENT: Final = "upper_arm"

# docs/rules.md "CGM", "Enough data": a CGM samples every 1-60 minutes; 5 when not declared
# (what wear assumed of every reading before sensors declared theirs), and 5 for a reading from
# no registered CGM.
SAMPLING_MINUTES_MIN: Final = 1
SAMPLING_MINUTES_MAX: Final = 60
DEFAULT_SAMPLING_MINUTES: Final = 5


# The field only one kind may have: the validators of DeviceCreate refuse it on any other.
KIND_ONLY_FIELDS: Final = {"sampling_minutes": "cgm", "placement": "bp_cuff"}


def _declare_kind_fields(schema: dict[str, Any]) -> None:
    """Declares per kind (one `oneOf` branch each) what the validators enforce: another kind's
    own field may be absent or null, nothing else."""
    one_of_constraints(
        schema,
        [
            {
                "properties": {
                    "kind": {"const": kind},
                    **{
                        name: {"type": "null"}
                        for name, own in KIND_ONLY_FIELDS.items()
                        if own != kind
                    },
                }
            }
            for kind in get_args(DeviceKind)
        ],
    )


class DeviceCreate(StrictModel):
    model_config = ConfigDict(json_schema_extra=_declare_kind_fields)

    kind: DeviceKind
    manufacturer: Annotated[str, TextLine(max_length=100)]
    model: Annotated[str, TextLine(max_length=100)]
    serial: Annotated[str, TextLine(max_length=100)] | None = None
    validated: bool = Field(
        False,
        strict=True,
        description="Staff only: the device is clinically validated (required for BP to count)."
        " A device a patient registers starts unvalidated whatever this says; staff validate it"
        " with PATCH.",
    )
    placement: Placement | None = Field(
        None,
        description="bp_cuff only: where the cuff is worn, upper_arm (the default) or wrist;"
        " only a validated upper-arm cuff makes eligible blood pressure.",
    )
    sampling_minutes: int | None = Field(
        None,
        strict=True,
        ge=SAMPLING_MINUTES_MIN,
        le=SAMPLING_MINUTES_MAX,
        description="cgm only: minutes between the sensor's readings, 1-60 (default 5); CGM"
        " wear counts each reading for this long.",
    )

    # 5.0 is a whole number (JSON), as the schema's `integer` says.
    _whole_minutes = field_validator("sampling_minutes", mode="before")(integral)

    @field_validator("sampling_minutes")
    @classmethod
    def _cgm_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        # An invalid kind is reported on its own; a sampling interval is then no extra error.
        own = KIND_ONLY_FIELDS["sampling_minutes"]
        if value is not None and info.data.get("kind", own) != own:
            raise ValueError(f"sampling_minutes is only for {own} devices")
        return value

    @field_validator("placement")
    @classmethod
    def _cuff_only(cls, value: Placement | None, info: ValidationInfo) -> Placement | None:
        own = KIND_ONLY_FIELDS["placement"]
        if value is not None and info.data.get("kind", own) != own:
            raise ValueError(f"placement is only for {own} devices")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> DeviceCreate:
        if self.kind == "cgm" and self.sampling_minutes is None:
            self.sampling_minutes = DEFAULT_SAMPLING_MINUTES
        if self.kind == "bp_cuff" and self.placement is None:
            self.placement = DEFAULT_CUFF_PLACEMENT
        return self


class DeviceUpdate(StrictModel):
    """Staff verification of a device: whether it is validated, and a cuff's placement."""

    validated: bool = Field(
        strict=True,
        description="true: a staff member verified the device (recorded with who and when);"
        " false: it no longer counts as validated.",
    )
    placement: Placement | None = Field(
        None, description="bp_cuff only: upper_arm or wrist; unchanged when absent."
    )


class DeviceRead(ReadModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    kind: DeviceKind
    manufacturer: str
    model: str
    serial: str | None
    validated: bool
    validated_at: datetime | None = Field(
        description="When staff last validated the device; null while it is not validated."
    )
    validated_by: uuid.UUID | None = Field(description="The staff member who validated it.")
    placement: Placement | None = Field(
        description="bp_cuff: upper_arm or wrist; null for other kinds."
    )
    sampling_minutes: int | None = Field(
        description="cgm: minutes between the sensor's readings; null for other kinds."
    )
    client_id: str
    created_at: datetime
    revoked_at: datetime | None


class DeviceCreated(DeviceRead):
    client_secret: str = Field(description="Shown once; store it in the device integration.")


class DeviceList(BaseModel):
    items: list[DeviceRead]
    next_cursor: str | None = None
