"""Finished responses reach the server as one chunk; streams pass through untouched."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse

from xinan.core.lib.wsgi import whole_bodies


@pytest.fixture(autouse=True)
def _keep_connections():
    # Django's own handler (closing database connections) stays out, as in its test client.
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.connect(close_old_connections)


def serve(response):
    finished = []

    def on_finished(**kwargs):
        finished.append(True)

    request_finished.connect(on_finished)
    try:
        result = whole_bodies(lambda environ, start_response: response)({}, None)
    finally:
        request_finished.disconnect(on_finished)
    return result, finished


def test_a_finished_response_is_one_chunk_and_already_closed():
    for response in (HttpResponse("你好"), JsonResponse({"ok": True}, status=201)):
        result, finished = serve(response)
        assert result == [response.content] and finished == [True]


def test_streams_and_files_are_left_to_the_server(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("a,b\n")
    for response in (StreamingHttpResponse(iter([b"a", b"b"])), FileResponse(path.open("rb"))):
        result, finished = serve(response)
        assert result is response and finished == []  # the server iterates and closes it
        response.close()
