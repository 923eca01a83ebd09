def register_list_extensions() -> None:
    pass
