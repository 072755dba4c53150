"""nisflow.physics."""

__all__: list[str] = []
