"""API tokens: issued, revoked and expired only here, each issue and revocation audited.

Tokens are django-rest-knox's (accounts.ApiToken): the secret is shown once, when issued, and
only its digest is stored; each one expires `REST_KNOX["TOKEN_TTL"]` after it was issued
(OMNIFY_TOKEN_TTL_DAYS) and is refused from then on. A user may hold several, named after
what uses them. Changing a user's password revokes all of theirs.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone
from knox.settings import knox_settings

from accounts.models import ApiToken
from orchestration.services.audit import AuditAction, audit_event_record


def api_token_create(
    *, user: AbstractBaseUser, name: str = "", actor: AbstractBaseUser | None = None
) -> tuple[ApiToken, str]:
    """Issue a token to `user`. Returns the row and the secret, which exists nowhere else:
    the caller hands it over once. The row and its audit event commit together."""
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token, secret = ApiToken.objects.create(
            user=user, expiry=knox_settings.TOKEN_TTL, name=name
        )
        audit_event_record(
            action=AuditAction.TOKEN_CREATE,
            actor=actor or user,
            payload={
                "user": user.get_username(),
                "name": name,
                "token": token.token_key,
                "expiry": token.expiry.isoformat() if token.expiry else None,
            },
        )
    return token, secret


def api_token_revoke(
    *, token: ApiToken, actor: AbstractBaseUser | None = None, reason: str
) -> None:
    """Revoke one token (it is refused from the next request on), with an audit event naming
    why: `logout` (its holder), `admin`, `password_changed`."""
    with transaction.atomic():
        audit_event_record(
            action=AuditAction.TOKEN_REVOKE,
            actor=actor,
            payload={
                "user": token.user.get_username(),
                "name": token.name,
                "token": token.token_key,
                "reason": reason,
            },
        )
        token.delete()


def api_tokens_revoke_all(
    *, user: AbstractBaseUser, actor: AbstractBaseUser | None = None, reason: str
) -> int:
    """Revoke every token `user` holds; returns how many."""
    with transaction.atomic():
        tokens = list(ApiToken.objects.filter(user=user).select_for_update())
        for token in tokens:
            api_token_revoke(token=token, actor=actor, reason=reason)
    return len(tokens)


def _revoke_on_password_change(sender, instance, created, **kwargs) -> None:
    # `set_password` keeps the raw password on the instance until `save()` has run the
    # validators' `password_changed`; a hash upgrade on login clears it first, so rehashing
    # the same password (a new Django's iterations) revokes nothing.
    if not created and getattr(instance, "_password", None) is not None:
        api_tokens_revoke_all(user=instance, reason="password_changed")


def connect_signals(user_model) -> None:
    post_save.connect(
        _revoke_on_password_change,
        sender=user_model,
        dispatch_uid="orchestration.services.tokens.revoke_on_password_change",
    )
