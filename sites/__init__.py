"""Occitanie e-formation access sites: seats, opening hours, bookings."""
