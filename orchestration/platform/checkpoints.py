"""Training checkpoints that travel in Temporal's heartbeat details (and in a resumed
activity's input): a pickled snapshot of the training, signed with the secret key so that
only a snapshot this console made is ever unpickled."""

import base64
import logging
import time
from collections.abc import Callable

from django.core import signing

from . import training

logger = logging.getLogger(__name__)
_signer = signing.Signer(salt="omnify.eyes-training-checkpoint")
# A snapshot costs a pickle and a signature: take one at most this often, not every epoch.
EVERY_SECONDS = 1.0


def encode(snapshot: bytes) -> str:
    return _signer.sign(base64.b64encode(snapshot).decode())


def decode(checkpoint: str | None) -> bytes | None:
    """The snapshot in `checkpoint`, or None when there is none or it isn't one of ours."""
    if not checkpoint:
        return None
    try:
        return base64.b64decode(_signer.unsign(checkpoint))
    except (signing.BadSignature, ValueError):
        logger.warning("Ignoring a training checkpoint that isn't this console's; starting over.")
        return None


def progress_reporter(
    heartbeat: Callable[..., None], start_checkpoint: str | None
) -> training.EpochCallback:
    """An `on_epoch` that heartbeats `epoch N/T` every epoch, with the latest checkpoint
    (refreshed at most every EVERY_SECONDS) as the heartbeat's second detail."""
    latest = {"checkpoint": start_checkpoint, "at": time.monotonic()}

    def on_epoch(epoch: int, total: int, snapshot: training.Snapshot) -> None:
        now = time.monotonic()
        if now - latest["at"] >= EVERY_SECONDS or epoch == total:
            latest["checkpoint"], latest["at"] = encode(snapshot()), now
        heartbeat(f"epoch {epoch}/{total}", latest["checkpoint"])

    return on_epoch
