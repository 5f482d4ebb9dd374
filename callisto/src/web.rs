//! Serving the single-page app beside the API: files from the built app,
//! `index.html` for every other non-API path (client-side routes).

use axum::Router;
use axum::response::Html;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// Shown when the web app has not been built: says so, and where the API is.
const NO_WEB_APP: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Callisto</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>Callisto</h1>
<p>The API is running. The web app has not been built into <code>web/dist</code> yet, so there is no UI to show.</p>
<p>API description: <a href="/api/openapi.json">/api/openapi.json</a> · health: <a href="/api/health">/api/health</a></p>
</body></html>"#;

pub fn with_spa(api: Router, web_dir: Option<&Path>) -> Router {
    match web_dir {
        Some(dir) => api
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => api.fallback(|| async { Html(NO_WEB_APP) }),
    }
}
