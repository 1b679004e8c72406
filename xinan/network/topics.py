"""Payloads of the events the network app emits."""

from dataclasses import dataclass

CERTIFICATE_EXPIRING = "network.certificate_expiring"


@dataclass(frozen=True)
class CertificateExpiring:
    """A professional's certificate lapses within 30 days (notify them and their admin)."""

    certificate_id: int
    professional_id: int
    user_id: int | None
    area_code: str
    expires_on: str
