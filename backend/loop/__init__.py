"""The human-in-the-loop: corrections, next-image choice, triggers and promotion."""
