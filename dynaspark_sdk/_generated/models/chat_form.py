from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define

from .. import types
from ..models.chat_model import ChatModel
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="ChatForm")


@_attrs_define
class ChatForm:
    """
    Attributes:
        user_input (str): The whole prompt; the conversation folded into one string.
        ai_model (ChatModel): Models of the chat endpoint; all accept an image. `x-aliases` maps a requested name
            to the name sent (applied before the name is checked); `x-vision-models` lists the
            models that accept an image.
        file (File | Unset): At most one image (jpeg, png, gif or webp), sent with a filename and its image
            content type. ASSUMED: 20 MB at most.
    """

    user_input: str
    ai_model: ChatModel
    file: File | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        user_input = self.user_input

        ai_model = self.ai_model.value

        file: FileTypes | Unset = UNSET
        if not isinstance(self.file, Unset):
            file = self.file.to_tuple()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_input": user_input,
                "ai_model": ai_model,
            }
        )
        if file is not UNSET:
            field_dict["file"] = file

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("user_input", (None, str(self.user_input).encode(), "text/plain")))

        files.append(("ai_model", (None, str(self.ai_model.value).encode(), "text/plain")))

        if not isinstance(self.file, Unset):
            files.append(("file", self.file.to_tuple()))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_input = d.pop("user_input")

        ai_model = ChatModel(d.pop("ai_model"))

        _file = d.pop("file", UNSET)
        file: File | Unset
        if isinstance(_file, Unset):
            file = UNSET
        else:
            file = File(payload=BytesIO(_file))

        chat_form = cls(
            user_input=user_input,
            ai_model=ai_model,
            file=file,
        )

        return chat_form
