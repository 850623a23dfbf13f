from django.core.signals import setting_changed
from django.dispatch import receiver

from orchestration.temporal.bridge import reset_bridge

_BRIDGE_SETTINGS = {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_RPC_TIMEOUT"}


@receiver(setting_changed)
def rebuild_bridge_on_temporal_settings(*, setting: str, **kwargs) -> None:
    # Like Django's own caches: a changed address must not keep talking to the old server.
    if setting in _BRIDGE_SETTINGS:
        reset_bridge()
