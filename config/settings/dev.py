"""A developer's checkout (`make demo`, or `manage.py` with this module named): the
embedded services when none are configured, and DEBUG on unless DEBUG says otherwise."""

from astro.core import embedded
from astro.core.env import env_bool

ASTRO_CONFIGURED_SERVICES = embedded.ensure_services()

from config.settings.base import *  # noqa: E402,F403

DEBUG = env_bool("DEBUG", True)
# WhiteNoise serves from the finders here, and warns if its root is absent.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

apply_debug_defaults(globals())  # noqa: F405
