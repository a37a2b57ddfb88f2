"""Store -> CMS: conversation windows become a transcript and a summary on the matter, written once."""
