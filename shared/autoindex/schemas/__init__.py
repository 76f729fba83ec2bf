"""Pydantic request and response models, named by role: XCreate, XRead, XPage."""
