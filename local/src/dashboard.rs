//! The runs dashboard: a static page for operators at GET /admin/runs, and the public switches it
//! reads at start.
//!
//! The page is plain HTML, CSS and JavaScript from `local/dashboard/`, embedded in the binary with
//! `include_str!`, so `make run` serves it with no build step. Only the dispatcher serves it (no
//! Lambda owns these routes, see `Group::on_lambda`). The page itself is public: it holds no data.
//! Everything it shows comes from the API, same origin, with the operator's key when
//! REQUIRE_API_KEY=1, so the guards stay where they are (the server refuses a locked prune with 403
//! PRUNE_LOCKED whatever the page does).
//!
//! # Routes
//! - `GET /admin/runs`: the page.
//! - `GET /admin/runs/app.js`, `GET /admin/runs/app.css`: its script (an ES module, the entry) and
//!   style sheet.
//! - `GET /admin/runs/modules/{name}`: the modules the script imports, by file name, from the fixed
//!   table [`MODULES`]; any other name is 404 `NOT_FOUND`.
//! - `GET /admin/runs/config`: `{"prune_enabled", "prune_locked", "lock_reason", "require_api_key"}`.

use common::config::Config;
use common::error::{respond, ApiError, ErrorCode};
use common::lambda_http::http::{HeaderValue, StatusCode};
use common::lambda_http::{Body, Request, Response};
use common::routing::Matched;
use common::state::AppState;

common::routes! {
    /// The page.
    Page => GET "/admin/runs", Public;
    /// Its script, the entry module.
    Script => GET "/admin/runs/app.js", Public;
    /// One of the modules the script imports (`{name}`, looked up in [`MODULES`]).
    Module => GET "/admin/runs/modules/{name}", Public;
    /// Its styles.
    Styles => GET "/admin/runs/app.css", Public;
    /// What the page needs to know of the deployment (prune switches).
    ClientConfig => GET "/admin/runs/config", Public;
}

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const APP_CSS: &str = include_str!("../dashboard/app.css");

/// The modules `app.js` imports (`local/dashboard/modules/`), by the name they are served under:
/// the only names `GET /admin/runs/modules/{name}` answers, matched exactly, so no other file (no
/// name with a `/` or `..`) can be asked for.
const MODULES: &[(&str, &str)] = &[
    ("api.js", include_str!("../dashboard/modules/api.js")),
    ("dom.js", include_str!("../dashboard/modules/dom.js")),
    ("drawer.js", include_str!("../dashboard/modules/drawer.js")),
    ("filters.js", include_str!("../dashboard/modules/filters.js")),
    ("format.js", include_str!("../dashboard/modules/format.js")),
    ("prune.js", include_str!("../dashboard/modules/prune.js")),
    ("table.js", include_str!("../dashboard/modules/table.js")),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Scripts, styles and calls come from this origin only; images and video also from `blob:` (the
/// preview and the tracer clip are fetched with the key header and shown from blob URLs).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
                   media-src blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// Serves a matched dashboard route (only the dispatcher serves the dashboard).
pub fn serve(state: &AppState, _req: Request, matched: Matched<Endpoint>) -> Response<Body> {
    match matched.endpoint {
        Endpoint::Script => text(APP_JS, JAVASCRIPT),
        Endpoint::Module => respond(module(matched.param("name")).map(|js| text(js, JAVASCRIPT))),
        Endpoint::Styles => text(APP_CSS, "text/css; charset=utf-8"),
        Endpoint::ClientConfig => text(&client_config(&state.config), "application/json"),
        Endpoint::Page => {
            let mut page = text(INDEX_HTML, "text/html; charset=utf-8");
            let headers = page.headers_mut();
            headers.insert("content-security-policy", HeaderValue::from_static(CSP));
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            page
        }
    }
}

/// The module served under `name`; 404 `NOT_FOUND` for any name not in [`MODULES`].
fn module(name: &str) -> Result<&'static str, ApiError> {
    MODULES
        .iter()
        .find(|(served, _)| *served == name)
        .map(|(_, js)| *js)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no dashboard module {name:?}")))
}

fn text(body: &str, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    // Small files, always revalidated, so a new binary's page is never mixed with an old script.
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

/// Why pruning is locked, naming the variables that lock it; `None` when it is not.
pub fn lock_reason(config: &Config) -> Option<&'static str> {
    match (config.runs_prune_locked, config.prod_lock) {
        (false, false) => None,
        (true, false) => Some("RUNS_PRUNE_LOCKED is set on this deployment"),
        (false, true) => Some("PROD_LOCK is set on this deployment"),
        (true, true) => Some("RUNS_PRUNE_LOCKED and PROD_LOCK are set on this deployment"),
    }
}

/// The switches the page reads at start, as JSON. Every value is a boolean or one of the fixed
/// strings of [`lock_reason`], so the text needs no escaping.
pub fn client_config(config: &Config) -> String {
    let reason = lock_reason(config).map_or_else(|| "null".to_string(), |r| format!("\"{r}\""));
    format!(
        r#"{{"prune_enabled":{},"prune_locked":{},"lock_reason":{reason},"require_api_key":{}}}"#,
        config.runs_prune_enabled,
        config.prune_locked(),
        config.require_api_key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::http::build_request;
    use common::lambda_http::http::{HeaderMap, Method};

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_pairs(vars).expect("config")
    }

    fn get(state: &AppState, path: &str) -> Response<Body> {
        let req = build_request(Method::GET, path.parse().expect("uri"), HeaderMap::new(), Vec::new());
        let services = crate::Services::new(state.clone());
        let handle = crate::Group::Dashboard.handle(&services, req);
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(handle)
    }

    /// A state that requires the API key: the dashboard's routes stay public all the same.
    fn keyed_state(name: &str) -> AppState {
        let dir = std::env::temp_dir().join(name);
        let mut c = Config::for_dir(&dir);
        c.require_api_key = true;
        c.api_key = Some(common::config::Secret::new("k"));
        let store = std::sync::Arc::new(common::storage::file::FileBlobStore::new(dir.join("runs")));
        AppState::with_blobs(c, store).expect("state")
    }

    fn body(resp: &Response<Body>) -> String {
        match resp.body() {
            Body::Text(s) => s.clone(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    #[test]
    fn config_names_the_lock_and_the_key_requirement() {
        assert_eq!(
            client_config(&config(&[])),
            r#"{"prune_enabled":false,"prune_locked":false,"lock_reason":null,"require_api_key":false}"#
        );
        let locked = config(&[("VITE_RUNS_PRUNE_ENABLED", "true"), ("PROD_LOCK", "1"), ("RUNS_PRUNE_LOCKED", "1")]);
        assert_eq!(
            client_config(&locked),
            r#"{"prune_enabled":true,"prune_locked":true,"lock_reason":"RUNS_PRUNE_LOCKED and PROD_LOCK are set on this deployment","require_api_key":false}"#
        );
        assert_eq!(lock_reason(&config(&[("VITE_PROD_LOCK", "true")])), Some("PROD_LOCK is set on this deployment"));
        let keyed = config(&[("REQUIRE_API_KEY", "1"), ("API_KEY", "k"), ("RUNS_PRUNE_LOCKED", "true")]);
        assert_eq!(
            client_config(&keyed),
            r#"{"prune_enabled":false,"prune_locked":true,"lock_reason":"RUNS_PRUNE_LOCKED is set on this deployment","require_api_key":true}"#
        );
    }

    #[test]
    fn page_and_assets_are_public_even_when_the_api_key_is_required() {
        let state = keyed_state("golfiq-dashboard-unit");
        for (path, ct, needle) in [
            ("/admin/runs", "text/html; charset=utf-8", "<script type=\"module\" src=\"/admin/runs/app.js\">"),
            ("/admin/runs/", "text/html; charset=utf-8", "/admin/runs/app.js"),
            ("/admin/runs/app.js", "text/javascript; charset=utf-8", "from './modules/table.js'"),
            ("/admin/runs/modules/prune.js", "text/javascript; charset=utf-8", "/runs/v1/prune"),
            ("/admin/runs/app.css", "text/css; charset=utf-8", ".badge.failed"),
            ("/admin/runs/config", "application/json", "\"require_api_key\":true"),
        ] {
            let resp = get(&state, path);
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.headers()["content-type"], ct, "{path}");
            assert!(body(&resp).contains(needle), "{path} lacks {needle}");
        }
        let page = get(&state, "/admin/runs");
        assert!(page.headers()["content-security-policy"].to_str().expect("ascii").contains("script-src 'self'"));
        assert_eq!(get(&state, "/admin/runs/nope.js").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn modules_are_served_by_exact_name_like_the_script_and_nothing_else_is() {
        let state = keyed_state("golfiq-dashboard-modules-unit");
        let script = get(&state, "/admin/runs/app.js");
        for (name, source) in MODULES {
            let resp = get(&state, &format!("/admin/runs/modules/{name}"));
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            for header in ["content-type", "cache-control", "x-content-type-options"] {
                assert_eq!(resp.headers()[header], script.headers()[header], "{name}: {header}");
            }
            assert_eq!(resp.headers()["content-type"], "text/javascript; charset=utf-8");
            assert_eq!(body(&resp), *source, "{name}");
        }
        for path in [
            "/admin/runs/modules/nope.js",
            "/admin/runs/modules/app.js",
            "/admin/runs/modules/app.css",
            "/admin/runs/modules/API.JS",
            "/admin/runs/modules/api.js.map",
            "/admin/runs/modules/..",
            "/admin/runs/modules/%2E%2E",
            "/admin/runs/modules/..%2Fapp.js",
            "/admin/runs/modules/..%2F..%2Fsrc%2Fdashboard.rs",
            "/admin/runs/modules/%2Fetc%2Fpasswd",
            "/admin/runs/modules/modules%2Fapi.js",
            "/admin/runs/modules/modules/api.js",
            "/admin/runs/modules/../app.js",
            "/admin/runs/modules/",
            "/admin/runs/modules",
        ] {
            let resp = get(&state, path);
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(resp.headers()["content-type"], "application/json", "{path}");
            assert!(body(&resp).contains(r#""error_code":"NOT_FOUND""#), "{path}: {}", body(&resp));
        }
    }

    /// Every relative import of the entry and of each module names a module that is served (a file
    /// added without its `MODULES` row would break the page only in a browser), and every file in
    /// `local/dashboard/modules/` has its row.
    #[test]
    fn every_import_is_served_and_every_module_file_is_in_the_table() {
        let state = keyed_state("golfiq-dashboard-imports-unit");
        let sources = std::iter::once(("/admin/runs/", APP_JS))
            .chain(MODULES.iter().map(|(_, js)| ("/admin/runs/modules/", *js)));
        let mut imported = std::collections::BTreeSet::new();
        for (base, js) in sources {
            for line in js.lines().filter(|l| l.contains(" from '")) {
                let spec = line.split(" from '").nth(1).and_then(|s| s.split('\'').next()).expect("specifier");
                let path = format!("{base}{}", spec.strip_prefix("./").expect("a relative import"));
                let resp = get(&state, &path);
                assert_eq!(resp.status(), StatusCode::OK, "{spec} (imported from {base}) is not served at {path}");
                imported.insert(path);
            }
        }
        let served: std::collections::BTreeSet<String> =
            MODULES.iter().map(|(name, _)| format!("/admin/runs/modules/{name}")).collect();
        assert_eq!(imported, served, "every served module is imported by something");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboard/modules");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("modules dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8 name"))
            .collect();
        files.sort();
        let names: Vec<String> = MODULES.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(files, names, "local/dashboard/modules/ and MODULES list the same files");
    }
}
