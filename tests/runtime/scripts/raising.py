def init():
    pass


def run(raw):
    raise ValueError("boom")
