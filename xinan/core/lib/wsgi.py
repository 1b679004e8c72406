"""WSGI helpers for the served application (xinan/wsgi.py)."""

from collections.abc import Callable, Iterable

from django.http import HttpResponse


def whole_bodies(app: Callable) -> Callable:
    """Hand the server a finished response as one bytes chunk in a list.

    Django returns its response object, which a server must iterate and then close; granian
    does that from its own threads, taking the interpreter lock once per step. Most responses
    are already complete in memory, so they are closed here (which runs Django's
    request_finished handlers, as the server's close() would) and passed on as `[body]`,
    which granian sends in one call. Streaming and file responses pass through unchanged.
    """

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        response = app(environ, start_response)
        if not isinstance(response, HttpResponse):  # streaming and file responses
            return response
        try:
            return [response.content]
        finally:
            response.close()

    return application
