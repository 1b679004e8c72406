class BookingError(Exception):
    """A booking or voucher rule refused the change; the message is for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
