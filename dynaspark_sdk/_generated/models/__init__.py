"""Contains all the data models used in inputs/outputs"""

from .chat_answer import ChatAnswer
from .chat_form import ChatForm
from .chat_form_no_image import ChatFormNoImage
from .chat_model import ChatModel
from .error import Error
from .error_detail import ErrorDetail
from .error_detail_details import ErrorDetailDetails
from .image_answer import ImageAnswer
from .image_model import ImageModel
from .nested_error import NestedError
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
    "ErrorDetail",
    "ErrorDetailDetails",
    "ImageAnswer",
    "ImageModel",
    "NestedError",
    "QueryBooleanType1",
    "StatusAnswer",
    "TextAnswer",
    "Usage",
    "Voice",
)
