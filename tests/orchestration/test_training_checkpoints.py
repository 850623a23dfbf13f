"""A retrain resumes from a checkpoint instead of epoch 0, and ends where an uninterrupted one
ends; a checkpoint the console didn't sign is never unpickled."""

import numpy as np
import pytest

from orchestration.platform import checkpoints, training


def customers(rows: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    features = rng.normal(loc=[30, 120, 25, 1.5], scale=[15, 80, 25, 1.5], size=(rows, 4))
    labels = (features[:, 2] + rng.normal(scale=10, size=rows) > 30).astype(int)
    return features, labels


@pytest.mark.parametrize("kind", ["churn", "clustering"])
def test_training_resumed_from_a_checkpoint_continues_from_its_epoch(kind):
    features, labels = customers()
    params = {"epochs": 12, "clusters": 3}
    snapshots = {}

    def remember(epoch, total, snapshot):
        if epoch == 5:
            snapshots[5] = snapshot()

    whole = training.train(kind, features, labels, params, remember)
    resumed_epochs = []
    resumed = training.train(
        kind,
        features,
        labels,
        params,
        lambda epoch, total, snapshot: resumed_epochs.append(epoch),
        resume=snapshots[5],
    )
    assert resumed_epochs == list(range(6, 13))
    assert resumed.metrics == whole.metrics
    assert resumed.parameters == whole.parameters


def test_a_checkpoint_round_trips_and_a_forged_one_is_ignored():
    snapshot = b"\x80\x04training state"
    checkpoint = checkpoints.encode(snapshot)
    assert checkpoints.decode(checkpoint) == snapshot
    forged = checkpoint[:-3] + ("AAA" if not checkpoint.endswith("AAA") else "BBB")
    assert checkpoints.decode(forged) is None
    assert checkpoints.decode("not even signed") is None
    assert checkpoints.decode(None) is None


def test_progress_is_heartbeated_every_epoch_with_a_checkpoint_now_and_then(monkeypatch):
    beats = []
    monkeypatch.setattr(checkpoints, "EVERY_SECONDS", 3600)  # only the last epoch's
    on_epoch = checkpoints.progress_reporter(lambda *details: beats.append(details), None)
    for epoch in (1, 2, 3):
        on_epoch(epoch, 3, lambda epoch=epoch: f"state {epoch}".encode())
    assert [beat[0] for beat in beats] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert beats[0][1] is None and beats[1][1] is None
    assert checkpoints.decode(beats[2][1]) == b"state 3"
