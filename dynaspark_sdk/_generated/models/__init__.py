"""Contains all the data models used in inputs/outputs"""

from .chat_answer import ChatAnswer
from .chat_form import ChatForm
from .chat_form_no_image import ChatFormNoImage
from .chat_model import ChatModel
from .error import Error
from .image_answer import ImageAnswer
from .image_model import ImageModel
from .query_boolean_type_1 import QueryBooleanType1
from .status_answer import StatusAnswer
from .text_answer import TextAnswer
from .usage import Usage
from .voice import Voice

__all__ = (
    "ChatAnswer",
    "ChatForm",
    "ChatFormNoImage",
    "ChatModel",
    "Error",
    "ImageAnswer",
    "ImageModel",
    "QueryBooleanType1",
    "StatusAnswer",
    "TextAnswer",
    "Usage",
    "Voice",
)
