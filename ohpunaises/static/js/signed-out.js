// The sign-in page is what a signed-out browser sees: the service worker forgets the signed-in
// form page it kept for offline use. Reports waiting in the outbox (IndexedDB) stay.
if ("serviceWorker" in navigator && navigator.serviceWorker.controller) {
  navigator.serviceWorker.controller.postMessage({ type: "signed-out" });
}
