def init():
    pass


def run(raw):
    return {1, 2, 3}
