from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def role_required(*roles: str):
    """Only users holding one of `roles`; others get 404, like out-of-scope records."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not (request.user.roles() & set(roles)):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
