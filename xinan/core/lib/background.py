"""Work that outlives its request: a daemon thread of the web process with its own connection."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection


def run_in_background(func: Callable[..., Any], *args: Any, inline: bool = False) -> None:
    """Run `func(*args)` in a thread (now, in this thread, when `inline`, as tests ask).

    The thread opens its own database connection and closes it when done. It dies with the
    process: callers keep their work resumable (imports and invitation runs skip what is done).
    """
    if inline:
        func(*args)
        return
    threading.Thread(target=_with_connection, args=(func, *args), daemon=True).start()


def _with_connection(func: Callable[..., Any], *args: Any) -> None:
    close_old_connections()
    try:
        func(*args)
    finally:
        connection.close()
