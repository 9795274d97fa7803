"""`horizon train`: retrain the home's tagger with its analysts' verdicts."""

from __future__ import annotations

from horizon.classify import packaged_model
from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.cli.workspace import print_json
from horizon.config import ConfigError, load_catalogue
from horizon.tagging.home import home_model_path, retrain_home
from horizon.workspace import load_feedback


@app.command("train")
def train_command(
    home: HomeOption = None, controls: ControlsOption = None, json_output: JsonOption = False
) -> None:
    """Retrain this home's tagger with every confirmed and rejected tag (`horizon tag`).

    The retrained model is stored in the home (tagger/model.npz) and used by every later run;
    a run also retrains it by itself when the verdicts changed. The packaged model, trained on
    the labelled items, is rebuilt with `make train` instead.
    """
    runtime = make_runtime(home, controls=controls)
    try:
        catalogue = load_catalogue([runtime.settings.controls_file])
    except ConfigError as error:
        fail(error.problems)
    feedback = (
        load_feedback(runtime.store.state, runtime.store.index)
        if runtime.settings.state_db.exists()
        else []
    )
    if not feedback:
        err.print("No confirmed or rejected tags in this home yet: it uses the packaged model.")
        if json_output:
            print_json({"verdicts": 0, "model": None})
        return
    retrain_home(runtime.settings.home, packaged_model(), catalogue, runtime.embedder, feedback)
    path = home_model_path(runtime.settings.home)
    if json_output:
        print_json({"verdicts": len(feedback), "model": str(path)})
        return
    out.print(f"Retrained the tagger with {len(feedback)} verdicts; stored in {path}")
