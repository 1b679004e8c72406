"""The cases app's part of a person's data erasure (xinan/core/privacy.py): none while a case
about the person is open. (Its export and erasure of case data are the cases app's to add.)"""

from django.utils.translation import gettext as _

from xinan.cases.models import Case
from xinan.core import privacy


@privacy.blocker("cases")
def open_cases(person) -> str | None:
    n = Case.objects.filter(person=person).open().count()
    if n:
        return _("该居民有 %(n)d 个未结案的个案，须先结案后才能删除") % {"n": n}
    return None
