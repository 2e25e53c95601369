from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.chat_model import ChatModel

T = TypeVar("T", bound="ChatFormNoImage")


@_attrs_define
class ChatFormNoImage:
    """
    Attributes:
        user_input (str): The whole prompt; the conversation folded into one string.
        ai_model (ChatModel): Models of the chat endpoint; all accept an image. `x-aliases` maps a requested name
            to the name sent (applied before the name is checked); `x-vision-models` lists the
            models that accept an image.
    """

    user_input: str
    ai_model: ChatModel

    def to_dict(self) -> dict[str, Any]:
        user_input = self.user_input

        ai_model = self.ai_model.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_input": user_input,
                "ai_model": ai_model,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_input = d.pop("user_input")

        ai_model = ChatModel(d.pop("ai_model"))

        chat_form_no_image = cls(
            user_input=user_input,
            ai_model=ai_model,
        )

        return chat_form_no_image
