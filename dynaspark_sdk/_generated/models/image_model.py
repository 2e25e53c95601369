from enum import StrEnum


class ImageModel(StrEnum):
    FLUX = "flux"
    GPTIMAGE = "gptimage"
    TURBO = "turbo"

    def __str__(self) -> str:
        return str(self.value)
