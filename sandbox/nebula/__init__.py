"""Stand-in for Symbl's Nebula LLM API: a deterministic, extractive "model" behind the real request shapes."""
