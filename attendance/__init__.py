"""Training sessions (séances), sign-in and sign-out, absences, corrections, the ledger."""
