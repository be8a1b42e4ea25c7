"""GET /skatteoppgjoerhendelser/v1/hendelser?fraSekvensnummer=N&antall=M and …/v1/hendelser/start?dato=D"""

from __future__ import annotations

from ..dataapi import ApiSpec
from ..hendelser.routes import feed_routes
from ..services import SKATTEOPPGJOERHENDELSER
from .model import schedule

API = ApiSpec.of(SKATTEOPPGJOERHENDELSER, forbidden="unauthenticated")  # FA has no 403 code: FA-003 is 401

routes = feed_routes(API, schedule)
