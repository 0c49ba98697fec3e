"""Flask extensions, created unbound and initialised by the application factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf import CSRFProtect

from .models import Base


class AppSession(Session):
    """The application's sessions: what listens to them (`data_version`) is attached to this
    class by `init_app`, never to every SQLAlchemy session of the process."""


db = SQLAlchemy(model_class=Base, session_options={"class_": AppSession})
migrate = Migrate()
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
