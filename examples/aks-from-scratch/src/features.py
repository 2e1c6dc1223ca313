"""Feature order shared by the scoring code and the model's weight file."""

FEATURES = ("tenure_months", "monthly_charges", "support_calls")


def vector(row):
    """The row's features in model order (missing ones are 0)."""
    return [float(row.get(name, 0)) for name in FEATURES]
