"""Pydantic request and response models, in layers: Base, Create, Public, Publics{data,count}."""
