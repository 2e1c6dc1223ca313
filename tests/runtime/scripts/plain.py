import os

MODEL_DIR = None


def init():
    global MODEL_DIR
    MODEL_DIR = os.environ.get("AZUREML_MODEL_DIR")


def run(raw):
    if raw == "none":
        return None
    if raw == "string":
        return '{"a": 1}'
    if raw == "env":
        return {
            "model_dir": MODEL_DIR,
            "entry": os.environ.get("AZUREML_ENTRY_SCRIPT"),
            "root": os.environ.get("AML_APP_ROOT"),
            "key": os.environ.get("AKSML_PRIMARY_KEY"),
        }
    return {"echo": raw}
