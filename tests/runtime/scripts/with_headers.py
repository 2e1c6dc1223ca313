def init():
    pass


def run(raw, request_headers):
    return {"raw": raw, "headers": request_headers}
