from enum import StrEnum


class QueryBooleanType1(StrEnum):
    FALSE = "False"
    TRUE = "True"

    def __str__(self) -> str:
        return str(self.value)
