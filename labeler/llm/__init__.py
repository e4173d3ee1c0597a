"""LLM labels: one path through the `openai` client to any OpenAI-compatible endpoint.

client.py    the ChatModel protocol and its openai-client implementation
local.py     the packaged GGUF models and llama.cpp's server (xllamacpp) on 127.0.0.1
settings.py  endpoint settings; the packaged model served only when a call is needed
prompts.py   Jinja2 prompt files → messages that fit the context window
answers.py   parsing and validating the model's JSON
asker.py     one question → a usable answer: cache, repairs, shrinking, circuit breaker
distinct.py  labels that fit their topic and differ from each other
labeling.py  the label step over a run: inputs, concurrency, versions, reports
"""
