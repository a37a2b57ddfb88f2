"""Work that leaves the building: the transactional outbox, the kinds of job and their keys, the worker."""
