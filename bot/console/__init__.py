"""The staff web console under /console/: sign-in, the queue, cases, reports (issue 17)."""
