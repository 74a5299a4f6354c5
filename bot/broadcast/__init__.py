"""Information broadcasts (issue 18): subscriptions, broadcasts, their sending and reports."""
