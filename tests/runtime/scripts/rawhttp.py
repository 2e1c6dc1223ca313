"""A @rawhttp score.py as users write them (azureml.contrib.services imports)."""

import json

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest, request_headers=None):
    if request.method == "GET":
        return AMLResponse(request.full_path, 200)
    action = request.args.get("do", "")
    if action == "form":
        return AMLResponse(json.dumps({"form": request.form.to_dict(), "url": request.url}), 200)
    body = request.get_data(False)
    if action == "fail":
        return AMLResponse("model broke", 500)
    if action == "unavailable":
        return AMLResponse({"retry": True}, 503, {"Retry-After": "1"}, json_str=True)
    if action == "raise":
        raise ValueError("boom")
    if action == "value":
        return {"length": len(body)}
    if action == "none":
        return AMLResponse(None, 202)
    if action == "request_headers":
        seen = {k: v for k, v in request_headers.items() if k.lower().startswith("x-")}
        return {"request_headers": seen, "same": request_headers == dict(request.headers)}
    if action == "headers":
        seen = {k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "auth"))}
        return AMLResponse(json.dumps(seen), 200, {"Content-Type": "application/json"})
    text = body.decode("utf-8")
    return AMLResponse(
        json.dumps({"echo": text, "path": request.path, "content_type": request.content_type}),
        201,
        {"x-custom": "a, b", "x-single": "one"},
    )
