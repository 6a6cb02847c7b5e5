"""Training data of an organisation: orders, groups, enrolments (parcours)."""
