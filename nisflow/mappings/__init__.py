"""nisflow.mappings."""

__all__: list[str] = []
