"""LLM labels: one path through the `openai` client to any OpenAI-compatible endpoint.

client.py   the ChatModel protocol and its openai-client implementation
local.py    the packaged GGUF models and llama.cpp's server (xllamacpp) on 127.0.0.1
prompts.py  Jinja2 prompt files → messages that fit the context window
answers.py  parsing and validating the model's JSON
labeling.py the label step: cache, concurrency, fallbacks, distinct labels, versions
"""
