"""心安 xinan — platform for a district's social psychological service system."""

__version__ = "0.1.0"
