def extend_lists():
    pass
