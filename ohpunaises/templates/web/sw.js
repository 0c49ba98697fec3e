// Oh Punaises! service worker: keeps the phone form and its assets for use without network.
// Reports never pass through here: the page keeps them in IndexedDB until the server has
// acknowledged them (static/js/outbox.js).
const CACHE = "ohpunaises-{{ version }}";
const PAGE = {{ page|tojson }};
const ASSETS = {{ assets|tojson }};
const PAGE_WAIT = 4000; // ms: past this, a slow network loses to the cached page

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS);
      await keepPage(cache, await fetch(PAGE).catch(() => Response.error()));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const old = (await caches.keys()).filter((name) => name.startsWith("ohpunaises-") && name !== CACHE);
      await Promise.all(old.map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

// Signed out: the page kept was a signed-in person's; the next sign-in keeps a new one.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "signed-out") {
    event.waitUntil(caches.open(CACHE).then((cache) => cache.delete(PAGE)));
  }
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) event.respondWith(page(event, url));
  else if (ASSETS.includes(url.pathname)) event.respondWith(asset(event.request));
});

// Only the plain form page, as a signed-in user gets it, is worth keeping.
async function keepPage(cache, response) {
  if (response.ok && !response.redirected) await cache.put(PAGE, response);
}

// The form page: from the network when it answers in time, else the copy kept.
async function page(event, url) {
  const cache = await caches.open(CACHE);
  const network = fetch(event.request).then(async (response) => {
    if (url.search === "") await keepPage(cache, response.clone());
    return response;
  });
  event.waitUntil(network.catch(() => null));
  const kept = await cache.match(PAGE);
  if (!kept) return network;
  const late = new Promise((resolve) => setTimeout(() => resolve(kept), PAGE_WAIT));
  return Promise.race([network.catch(() => kept), late]);
}

// Assets change only with a release, and a release changes this file, hence the cache.
async function asset(request) {
  return (await caches.match(request, { cacheName: CACHE })) || fetch(request);
}
