"""accounts' part of the walk-every-URL test (xinan/testing/scope_walk.py): its pages name no
object, so each only has to keep the other scope out of its answers."""

from xinan.testing.scope_walk import Page

URLS = {
    "accounts:login": Page(),
    "accounts:logout": Page(),
    "accounts:register": Page(),
    "accounts:totp_verify": Page(),
    "accounts:totp_setup": Page(),
    "accounts:password_change": Page(),
    "accounts:password_change_done": Page(),
}
