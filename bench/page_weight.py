"""What the first visit to the phone form (/saisie) downloads, gzip-compressed, against its budget.

Counts the page, every stylesheet, script (and module import) and image it references, then what
its service worker fetches on installation for offline use (Leaflet among them). Map tiles are
not counted. Text is compressed with gzip at level 6, as a front server would; images are
counted as they are (PNG is compressed already).

    .venv/bin/python bench/page_weight.py     # serves the product itself, on a scratch database
    .venv/bin/python bench/page_weight.py --url http://127.0.0.1:8000 --email E --password P
"""

import argparse
import contextlib
import gzip
import http.cookiejar
import json
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from common import Outcome, gunicorn

BUDGET = 150_000  # bytes, compressed
EMAIL, PASSWORD = "agent-mesure@example.org", "mot-de-passe-de-mesure"
IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


class Assets(HTMLParser):
    """The URLs a page makes the browser fetch at once, and its service worker's address."""

    def __init__(self):
        super().__init__()
        self.urls, self.service_worker = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") in ("stylesheet", "icon"):
            self.urls.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if attrs.get("data-service-worker"):
            self.service_worker = attrs["data-service-worker"]


class Browser:
    """Just enough of a browser: a cookie jar, and the bodies it fetched."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, url) -> bytes:
        with self.opener.open(urllib.parse.urljoin(self.base, url), timeout=30) as response:
            return response.read()

    def sign_in(self, email, password):
        page = self.get("/connexion").decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"email": email, "password": password, "csrf_token": token}
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(f"{self.base}/connexion", data=data, timeout=30) as response:
            if urllib.parse.urlsplit(response.url).path == "/connexion":
                sys.exit("Connexion refusée : vérifiez --email et --password.")


def module_imports(url: str, body: bytes) -> list[str]:
    """The files an ES module imports, as absolute paths."""
    found = re.findall(rb'^import[^"\']*["\']([^"\']+)["\']', body, re.MULTILINE)
    return [urllib.parse.urljoin(url, name.decode()) for name in found]


def first_visit(browser) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(what the page itself loads, what its service worker adds for offline use)."""
    html = browser.get("/saisie")
    parser = Assets()
    parser.feed(html.decode())
    page, queue = [("/saisie", html)], [u for u in parser.urls if not u.startswith("data:")]
    while queue:
        url = queue.pop(0)
        body = browser.get(url)
        page.append((url, body))
        if url.endswith(".js"):
            queue.extend(module_imports(url, body))
    worker = [(parser.service_worker, browser.get(parser.service_worker))]
    script = worker[0][1].decode()
    offline = json.loads(re.search(r"const ASSETS = (\[.*?\]);", script).group(1))
    seen = {url for url, _ in page}
    worker += [(url, browser.get(url)) for url in offline if url not in seen]
    worker.append(("/saisie (copie hors ligne)", browser.get("/saisie")))
    return page, worker


def transferred(url: str, body: bytes) -> int:
    if url.endswith(IMAGES):
        return len(body)
    return len(gzip.compress(body, compresslevel=6))


def report(page, worker) -> int:
    total = 0
    print(f"{'ressource':<48} {'brut':>9} {'transféré':>9}")
    for title, items in (("La page et ce qu'elle charge", page), ("Le service worker", worker)):
        print(f"-- {title}")
        subtotal = 0
        for url, body in items:
            size = transferred(url, body)
            subtotal += size
            print(f"{url:<48} {len(body):>9,} {size:>9,}".replace(",", " "))
        total += subtotal
        print(f"{'   sous-total':<48} {'':>9} {subtotal:>9,}".replace(",", " "))
    verdict = "sous" if total <= BUDGET else "AU-DESSUS"
    print(f"{'Total de la première visite':<48} {'':>9} {total:>9,}".replace(",", " "))
    print(f"Budget : {BUDGET:,} octets compressés ; {verdict} le budget.".replace(",", " "))
    return total


# Serving the product on a scratch database -----------------------------------------------------


def prepare_database(env: dict):
    from ohpunaises import bootstrap
    from ohpunaises.app import create_app
    from ohpunaises.auth import hash_password
    from ohpunaises.extensions import db
    from ohpunaises.models import Territory, User
    from ohpunaises.usecases.structures import new_structure

    app = create_app(env)
    with app.app_context():
        bootstrap.upgrade_schema()
        bootstrap.load_default_territories()
        bootstrap.ensure_default_deployment()
        commune = db.session.query(Territory).filter_by(code="69266").one()
        structure = new_structure("Mesure", "association", commune)
        user = User(email=EMAIL, role="agent", structure=structure)
        user.password_hash = hash_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.engine.dispose()


@contextlib.contextmanager
def served_product():
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch}/mesure.sqlite",
            "OHPUNAISES_ENV": "test",
            "SECRET_KEY": "page-weight-benchmark-secret-key",
            "WEB_CONCURRENCY": "1",
        }
        prepare_database(env)
        with gunicorn(env) as server:
            yield server.base


def run() -> list[Outcome]:
    """The benchmark on its own scratch database; returns the summary's line."""
    with served_product() as base:
        browser = Browser(base)
        browser.sign_in(EMAIL, PASSWORD)
        total = report(*first_visit(browser))
    return [
        Outcome(
            "page weight",
            "first visit to /saisie, gzip, every asset",
            f"{total:,} B",
            target=f"<= {BUDGET:,} B",
            met=total <= BUDGET,
        )
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="un serveur déjà lancé (sinon, le produit est servi ici)")
    parser.add_argument("--email", default=EMAIL)
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args()
    with contextlib.nullcontext(args.url) if args.url else served_product() as base:
        browser = Browser(base)
        browser.sign_in(args.email, args.password)
        total = report(*first_visit(browser))
    sys.exit(0 if total <= BUDGET else 1)


if __name__ == "__main__":
    main()
