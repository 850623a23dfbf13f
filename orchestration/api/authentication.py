"""The API's token authentication (DEFAULT_AUTHENTICATION_CLASSES). A module of its own: DRF
imports it while its views are being defined, so it imports no view."""

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.signals import token_expired

from accounts.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """knox's token authentication, without its sweep of the user's other tokens on every
    request (a query more per request, growing with the user's tokens): a token used after
    its expiry is refused and deleted, as knox does; the user's other expired tokens go when
    the user is issued a new one (`api_token_create`)."""

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False
