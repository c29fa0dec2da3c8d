"""User-facing errors: the CLI prints these as one line and exits with status 2."""


class I2IError(Exception):
    """Bad input from the user (a file, a value, a layout). The message names it and says what to do."""
