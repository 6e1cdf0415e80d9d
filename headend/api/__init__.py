"""Operator API: FastAPI routes, served by uvicorn inside the head-end's event loop."""
