"""Booking: counsellor availability, appointments, vouchers (嘉心券), feedback."""
