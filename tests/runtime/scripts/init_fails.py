def init():
    raise RuntimeError("model file missing")


def run(raw):
    return raw
