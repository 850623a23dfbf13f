"""EYES models: customer clustering (mini-batch k-means) and churn (logistic regression by
SGD). Training runs epoch by epoch so that the caller can heartbeat and stop between epochs,
and take a snapshot of the training (the model, its random state and the epoch) to resume
from after an interruption."""

import pickle
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, roc_auc_score, silhouette_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from .errors import DataValidationError

FEATURES = ["sessions", "spend", "days_since_last_activity", "support_tickets"]
MIN_ROWS = 20


@dataclass
class TrainedModel:
    metrics: dict
    parameters: dict


# on_epoch(epoch, total, snapshot): `snapshot()` pickles the training as it stands after
# `epoch`, for `train(..., resume=...)`; the caller decides when it is worth taking.
Snapshot = Callable[[], bytes]
EpochCallback = Callable[[int, int, Snapshot], None]


def train(
    kind: str,
    features: np.ndarray,
    labels: np.ndarray,
    params: dict,
    on_epoch: EpochCallback,
    resume: bytes | None = None,
) -> TrainedModel:
    """Train from scratch, or from a snapshot an earlier `on_epoch` took (trusted bytes: the
    caller checks where they came from)."""
    if len(features) < MIN_ROWS:
        raise DataValidationError(
            f"EYES {kind} needs at least {MIN_ROWS} synced customer records; "
            f"this organization has {len(features)}. Run a platform sync first."
        )
    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    epochs = int(params.get("epochs", 20))
    # Trusted: the caller (checkpoints.decode) checked the signature.
    state = pickle.loads(resume) if resume else None
    if kind == "clustering":
        model = _train_clustering(scaled, int(params.get("clusters", 4)), epochs, on_epoch, state)
    else:
        model = _train_churn(scaled, labels, epochs, on_epoch, state)
    model.parameters.update(
        {"features": FEATURES, "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()}
    )
    return model


def _train_clustering(
    scaled: np.ndarray, clusters: int, epochs: int, on_epoch: EpochCallback, state: tuple | None
) -> TrainedModel:
    if clusters >= len(scaled):
        raise DataValidationError(f"Cannot make {clusters} clusters of {len(scaled)} customers.")
    model, rng, done = state or (
        MiniBatchKMeans(n_clusters=clusters, random_state=0, n_init=1),
        np.random.default_rng(0),
        0,
    )
    for epoch in range(done + 1, epochs + 1):
        model.partial_fit(scaled[rng.permutation(len(scaled))])
        on_epoch(epoch, epochs, lambda epoch=epoch: pickle.dumps((model, rng, epoch)))
    assignments = model.predict(scaled)
    sizes = np.bincount(assignments, minlength=clusters).tolist()
    silhouette = silhouette_score(scaled, assignments) if len(set(assignments)) > 1 else 0.0
    return TrainedModel(
        metrics={
            "inertia": float(model.inertia_),
            "silhouette": round(float(silhouette), 4),
            "cluster_sizes": sizes,
            "epochs": epochs,
        },
        parameters={"centroids": model.cluster_centers_.tolist()},
    )


def _train_churn(
    scaled: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    on_epoch: EpochCallback,
    state: tuple | None,
) -> TrainedModel:
    if len(set(labels.tolist())) < 2:
        raise DataValidationError("Churn training needs both churned and retained customers.")
    x_train, x_test, y_train, y_test = train_test_split(
        scaled, labels, test_size=0.25, random_state=0, stratify=labels
    )
    model, done = state or (SGDClassifier(loss="log_loss", random_state=0, alpha=1e-3), 0)
    for epoch in range(done + 1, epochs + 1):
        model.partial_fit(x_train, y_train, classes=np.array([0, 1]))
        on_epoch(epoch, epochs, lambda epoch=epoch: pickle.dumps((model, epoch)))
    probabilities = model.predict_proba(x_test)[:, 1]
    return TrainedModel(
        metrics={
            "accuracy": round(float(accuracy_score(y_test, model.predict(x_test))), 4),
            "roc_auc": round(float(roc_auc_score(y_test, probabilities)), 4),
            "churn_rate": round(float(labels.mean()), 4),
            "epochs": epochs,
        },
        parameters={"coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])},
    )


def churn_risk(features: np.ndarray, parameters: dict) -> np.ndarray:
    """Probability of churn for each row under a stored churn model's parameters."""
    scaled = (features - np.array(parameters["mean"])) / np.array(parameters["scale"])
    logits = scaled @ np.array(parameters["coef"]) + parameters["intercept"]
    return 1 / (1 + np.exp(-logits))


def nearest_cluster(features: np.ndarray, parameters: dict) -> np.ndarray:
    """Each row's segment under a stored clustering model: the index of the nearest centroid,
    the features scaled with the mean and scale the model was trained with."""
    scaled = (features - np.array(parameters["mean"])) / np.array(parameters["scale"])
    centroids = np.array(parameters["centroids"])
    distances = ((scaled[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)
