"""Front-ends over the public clients: the gpt4free provider, the llm plugin, the OpenAI-compatible gateway, the service probe."""
