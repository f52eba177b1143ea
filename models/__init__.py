"""Pydantic contracts shared by workflows, activities, the read model and the CLI."""
