"""The staff's pages: server-rendered views, one blueprint per area, calling services and queries only."""
