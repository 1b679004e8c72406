class InstrumentError(Exception):
    """Bad instrument definition or bad answers; the message is for people (Chinese)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
