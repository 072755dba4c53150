"""nisflow.bench."""

__all__: list[str] = []
