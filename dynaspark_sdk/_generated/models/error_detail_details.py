from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorDetailDetails")


@_attrs_define
class ErrorDetailDetails:
    """
    Attributes:
        reset_time (float | str | Unset): When the rate-limit window resets. ASSUMED: a Unix time (seconds, or
            milliseconds when larger than 10^11) or an ISO 8601 date; clients wait for it
            as for `X-RateLimit-Reset`.
    """

    reset_time: float | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        reset_time: float | str | Unset
        if isinstance(self.reset_time, Unset):
            reset_time = UNSET
        else:
            reset_time = self.reset_time

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if reset_time is not UNSET:
            field_dict["reset_time"] = reset_time

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_reset_time(data: object) -> float | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(float | str | Unset, data)

        reset_time = _parse_reset_time(d.pop("reset_time", UNSET))

        error_detail_details = cls(
            reset_time=reset_time,
        )

        error_detail_details.additional_properties = d
        return error_detail_details

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
