"""The pipeline: inbox processor, decide step, effects, outbox relay, workers."""
