"""What a finished build hands to people and tools: exports, CRM lists, the report, summaries."""
