"""Train the client tests' model and lay it out as an MLServer model repository.

Run by the MLServer venv's own Python (tests/client_servers.py does), so the pickle is written by the
same scikit-learn that loads it. Writes <dir>/<model>/{model.joblib, model-settings.json} and
<dir>/expected.json: a few inputs with the model's own predictions, for the tests to compare against.

usage: python train.py DIR MODEL
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

FEATURES = 4


def main(directory: Path, model: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, FEATURES)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(np.int64)  # a synthetic "fraud" rule
    classifier = LogisticRegression().fit(x, y)

    folder = directory / model
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(classifier, folder / "model.joblib")
    # MLServer's model-settings.json (docs: "Serving Scikit-Learn models"): the sklearn runtime answers
    # with the `predict` output unless the request asks for others (predict_proba).
    settings = {
        "name": model,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    (folder / "model-settings.json").write_text(json.dumps(settings, indent=2))

    probe = rng.normal(size=(8, FEATURES)).astype(np.float32)
    expected = {"features": FEATURES, "inputs": probe.tolist(), "predict": classifier.predict(probe).tolist()}
    (directory / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
