"""Staff's side of a case: counselor commands, case operations, alerts, deadlines, labels."""
