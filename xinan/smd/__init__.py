"""Severe mental disorders: the registry, risk levels 0–5, follow-ups per the 2018 national spec."""
