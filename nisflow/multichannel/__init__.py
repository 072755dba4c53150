"""nisflow.multichannel."""

__all__: list[str] = []
