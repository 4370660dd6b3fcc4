"""Data: the embedded synthetic world, the shared tokenizer, and packing into blocks."""
