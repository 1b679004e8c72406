"""The talent database's sweep: warn before a certificate lapses."""

import dataclasses
import datetime as dt

from django.utils import timezone

from xinan.core import outbox
from xinan.core.schedule import periodic
from xinan.network import talent
from xinan.network.topics import CERTIFICATE_EXPIRING, CertificateExpiring


def _emit(cert) -> None:
    outbox.emit(
        CERTIFICATE_EXPIRING,
        dataclasses.asdict(
            CertificateExpiring(
                certificate_id=cert.pk,
                professional_id=cert.professional_id,
                user_id=cert.professional.user_id,
                area_code=cert.professional.area_id,
                expires_on=cert.expires_on.isoformat(),
            )
        ),
    )


@periodic("network.warn_expiring_certificates", every=dt.timedelta(hours=6))
def warn_expiring_certificates(now: dt.datetime) -> int:
    return talent.warn_expiring(timezone.localtime(now or timezone.now()).date(), emit=_emit)
