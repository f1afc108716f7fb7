"""What a client can ask the mock to play: scenarios, examples, delays, faults, error rates."""
