import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
application = get_wsgi_application()

# The crisis consumer and escalation scheduler run in-process when `xinan serve` asks for it.
from xinan.crisis.runner import start_background  # noqa: E402

start_background()
