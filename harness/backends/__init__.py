"""Model backends, registered by name in `codeharness.core.registry.backends`. Each generates
many prompts x n samples in one call (`codeharness.backends.base`)."""
