import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
site = get_wsgi_application()

# Bearer-token calls to the API take a shorter middleware stack (xinan/api/handler.py).
from xinan.api.handler import with_token_calls  # noqa: E402

application = with_token_calls(site)

# A served SQLite database checkpoints its WAL in the background, off the request path.
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from xinan.core.sqlite.base import start_checkpointer  # noqa: E402

if settings.SQLITE_CHECKPOINT_SECONDS > 0:
    start_checkpointer(connection.settings_dict, settings.SQLITE_CHECKPOINT_SECONDS)

# The crisis consumer and escalation scheduler run in-process when `xinan serve` asks for it.
from xinan.crisis.runner import start_background  # noqa: E402

start_background()
