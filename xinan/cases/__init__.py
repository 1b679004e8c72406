"""The closed loop: cases, stages, tasks with due times, interventions, referrals, follow-ups."""
