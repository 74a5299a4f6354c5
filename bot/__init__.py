"""The LK3 service: configuration, channels, workers, web app and command line."""
