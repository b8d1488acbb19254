"""Command-line tools: library generator, index builder, retrieval benchmark."""
