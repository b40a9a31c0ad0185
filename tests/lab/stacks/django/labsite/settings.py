# The lab's Django settings (tests/lab/stacks/django/labsite/settings.py). The line "# @@CORS@@"
# is replaced by the scenario's CORS section; the lists below hold no corsheaders.
SECRET_KEY = "corswatch-lab-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "labsite.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "api"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {}
USE_TZ = True

# @@CORS@@
