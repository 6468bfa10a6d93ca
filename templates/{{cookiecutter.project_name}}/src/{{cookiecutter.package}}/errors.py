"""The one exception the command line shows as a single line instead of a traceback."""


class UserError(Exception):
    """Bad input (a missing file, an unknown parameter); the message says what to do."""
