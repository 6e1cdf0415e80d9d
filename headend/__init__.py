"""The head-end application: IO, sessions, services, storage and the operator API."""
