"""dynaspark-sdk."""
