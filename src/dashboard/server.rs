//! The HTTP side: routes (GET only — there is no write endpoint), the access check for a
//! non-loopback bind, security headers, and the snapshot refreshed at most every few seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ae_shared::bus::Key;
use ae_shared::clock::Clock;
use ae_shared::secrets::Secret;
use ae_shared::store::PriceStore;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use maud::{Markup, html};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tokio::sync::{Mutex, RwLock};

use super::layout::{self, Ctx};
use super::pages;
use super::snapshot::{Loader, Snapshot};

/// How the dashboard serves.
pub struct Settings {
    /// Shortest time between two reads of the bus.
    pub refresh: Duration,
    /// Seconds between page reloads while the market is open.
    pub reload_s: u32,
    /// The credential a request must carry (basic auth password or bearer token), when set.
    pub token: Option<Secret>,
}

/// Shared by every request.
pub struct AppState {
    loader: Mutex<Loader>,
    snapshot: RwLock<(Instant, Arc<Snapshot>)>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    bus: ae_shared::bus::Bus,
    last_error: RwLock<Option<String>>,
    /// The price store as of a manifest (its hash), for recomputing price digests in lineage.
    prices: Mutex<Option<(String, Option<pages::lineage::Prices>)>>,
}

impl AppState {
    /// The state, starting from the snapshot the loader just read (so the first page is fast).
    pub fn new(loader: Loader, first: Arc<Snapshot>, clock: Arc<dyn Clock>, settings: Settings) -> Arc<Self> {
        let bus = loader.bus().clone();
        Arc::new(Self {
            loader: Mutex::new(loader),
            snapshot: RwLock::new((Instant::now(), first)),
            clock,
            settings,
            bus,
            last_error: RwLock::new(None),
            prices: Mutex::new(None),
        })
    }

    /// The current snapshot, re-read from the bus when older than the refresh interval. A bus
    /// error keeps the last good snapshot (the footer says so).
    pub async fn snapshot(&self) -> Arc<Snapshot> {
        {
            let s = self.snapshot.read().await;
            if s.0.elapsed() < self.settings.refresh {
                return s.1.clone();
            }
        }
        let mut loader = self.loader.lock().await;
        {
            // Another request may have refreshed while this one waited for the loader.
            let s = self.snapshot.read().await;
            if s.0.elapsed() < self.settings.refresh {
                return s.1.clone();
            }
        }
        match loader.refresh().await {
            Ok(snap) => {
                let snap = Arc::new(snap);
                *self.snapshot.write().await = (Instant::now(), snap.clone());
                *self.last_error.write().await = None;
                snap
            }
            Err(e) => {
                tracing::warn!("dashboard: reading the bus failed, showing the last snapshot: {e}");
                *self.last_error.write().await = Some(e.to_string());
                let mut s = self.snapshot.write().await;
                s.0 = Instant::now();
                s.1.clone()
            }
        }
    }

    /// Makes sure `cache` holds the price store of the bus's current manifest (loaded once per
    /// manifest version); left empty when there is none or it does not load, and lineage then
    /// shows price digests as unverified.
    async fn load_prices(bus: &ae_shared::bus::Bus, cache: &mut Option<(String, Option<pages::lineage::Prices>)>) {
        let Some(manifest) = bus.get(&ae_shared::bus::keys::prices_manifest()).await.ok().flatten().map(|o| o.sha256())
        else {
            *cache = None;
            return;
        };
        if cache.as_ref().is_some_and(|(h, _)| *h == manifest) {
            return;
        }
        // A store that does not load is remembered too (one warning per manifest version).
        let loaded = match PriceStore::load(bus).await {
            Ok(store) => Some(pages::lineage::Prices { store, digests: Default::default() }),
            Err(e) => {
                tracing::warn!("dashboard: the price store does not load, lineage cannot recompute price digests: {e}");
                None
            }
        };
        *cache = Some((manifest, loaded));
    }

    fn ctx(&self, snap: &Snapshot) -> Ctx {
        let now = self.clock.now();
        Ctx {
            now,
            reload_s: super::status::reload_at(now, self.settings.reload_s),
            bus: self.bus.url().to_string(),
            problems: snap.problems.len(),
        }
    }
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/positions", get(positions))
        .route("/research", get(research))
        .route("/predictor", get(predictor))
        .route("/backtester", get(backtester))
        .route("/execution", get(execution))
        .route("/risk", get(risk))
        .route("/lineage", get(lineage))
        .route("/doc", get(doc))
        .route("/static/style.css", get(style))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Every response: the access check first, then security headers.
async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.settings.token
        && !authorized(req.headers(), token.expose())
    {
        let mut r = (StatusCode::UNAUTHORIZED, "alpha-engine dashboard: credentials required\n").into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"alpha-engine\""));
        return r;
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    r
}

/// A request carries the credential as a bearer token or as the password of basic auth (any user
/// name). Compared in constant time.
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let given = if let Some(b) = v.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(b) = v.strip_prefix("Basic ") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        match text.split_once(':') {
            Some((_, pass)) => pass.to_string(),
            None => return false,
        }
    } else {
        return false;
    };
    given.len() == token.len() && bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

async fn page(state: &AppState, path: &str, title: &str, body: impl FnOnce(&Snapshot, &Ctx) -> Markup) -> Html<String> {
    let snap = state.snapshot().await;
    let ctx = state.ctx(&snap);
    let mut inner = body(&snap, &ctx);
    if let Some(e) = state.last_error.read().await.as_ref() {
        inner = html! { p.banner { "The bus could not be read on the last refresh (" (e) "); this is the last good view." } (inner) };
    }
    Html(layout::page(&ctx, path, title, inner).into_string())
}

async fn overview(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/", "Overview", |snap, ctx| pages::overview::render(snap, ctx.now)).await
}
async fn positions(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/positions", "Positions", |snap, _| pages::positions::render(snap)).await
}

#[derive(Debug, Deserialize)]
struct TickerQuery {
    ticker: Option<String>,
}

async fn research(State(s): State<Arc<AppState>>, Query(q): Query<TickerQuery>) -> Html<String> {
    let t = q.ticker.filter(|t| !t.trim().is_empty() && t.len() <= 12);
    page(&s, "/research", "Research", |snap, _| pages::research::render(snap, t.as_deref())).await
}
async fn predictor(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/predictor", "Predictor", |snap, _| pages::predictor::render(snap)).await
}
async fn backtester(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/backtester", "Backtester", |snap, _| pages::backtester::render(snap)).await
}
async fn execution(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/execution", "Execution", |snap, _| pages::execution::render(snap)).await
}
async fn risk(State(s): State<Arc<AppState>>) -> Html<String> {
    page(&s, "/risk", "Risk", |snap, _| pages::risk::render(snap)).await
}

#[derive(Debug, Deserialize)]
struct KeyQuery {
    key: Option<String>,
    depth: Option<usize>,
}

async fn lineage(State(s): State<Arc<AppState>>, Query(q): Query<KeyQuery>) -> Response {
    let depth = q.depth.unwrap_or(pages::lineage::DEFAULT_DEPTH).clamp(1, 12);
    let root = match q.key.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(Key::parse) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(e)) => return bad_request(&s, &e.to_string()).await,
    };
    let (nodes, error) = match &root {
        None => (Vec::new(), None),
        Some(k) => {
            let bus = &s.bus;
            let mut prices = s.prices.lock().await;
            AppState::load_prices(bus, &mut prices).await;
            match pages::lineage::walk(bus, k, prices.as_mut().and_then(|p| p.1.as_mut()), depth).await {
                Ok(n) => (n, None),
                Err(e) => (Vec::new(), Some(e)),
            }
        }
    };
    let shown = root.as_ref().filter(|_| error.is_none()).map(|k| (k, nodes.as_slice()));
    page(&s, "/lineage", "Lineage", |snap, _| pages::lineage::render(snap, shown, depth, error.as_deref()))
        .await
        .into_response()
}

async fn doc(State(s): State<Arc<AppState>>, Query(q): Query<KeyQuery>) -> Response {
    let key = match q.key.as_deref().map(Key::parse) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return bad_request(&s, &e.to_string()).await,
        None => return bad_request(&s, "name a document: /doc?key=executor/eod/2010-03-12.json").await,
    };
    match s.bus.get(&key).await {
        Ok(Some(obj)) => {
            let sha = obj.sha256();
            page(&s, "/doc", key.file_name(), |_, _| pages::lineage::document(&key, &obj.bytes, &sha))
                .await
                .into_response()
        }
        Ok(None) => {
            let body =
                page(&s, "/doc", "Not found", |_, _| html! { p.bad { (key.as_str()) " is not on the bus." } }).await;
            (StatusCode::NOT_FOUND, body).into_response()
        }
        Err(e) => {
            let body =
                page(&s, "/doc", "Bus error", |_, _| html! { p.bad { "Reading " (key.as_str()) ": " (e) } }).await;
            (StatusCode::BAD_GATEWAY, body).into_response()
        }
    }
}

async fn bad_request(s: &AppState, why: &str) -> Response {
    let body = page(s, "", "Bad request", |_, _| html! { p.bad { (why) } }).await;
    (StatusCode::BAD_REQUEST, body).into_response()
}

async fn not_found(State(s): State<Arc<AppState>>) -> Response {
    let body = page(&s, "", "Not found", |_, _| html! { p { "No such page. " a href="/" { "Overview" } } }).await;
    (StatusCode::NOT_FOUND, body).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], layout::STYLE)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_the_configured_credential_opens_the_dashboard() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let cases = [
            (headers("Bearer s3cret-token"), true),
            (headers(&format!("Basic {}", b64("operator:s3cret-token"))), true),
            (headers(&format!("Basic {}", b64("anyone:s3cret-token"))), true),
            (headers("Bearer s3cret-tokeN"), false),
            (headers("Bearer s3cret"), false),
            (headers(&format!("Basic {}", b64("s3cret-token"))), false),
            (headers("Basic !!!not-base64"), false),
            (headers("Token s3cret-token"), false),
            (HeaderMap::new(), false),
        ];
        for (h, want) in cases {
            assert_eq!(authorized(&h, "s3cret-token"), want, "{h:?}");
        }
    }
}
