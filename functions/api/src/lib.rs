//! The one HTTP router of Callisto. `callisto serve` runs it with
//! `axum::serve`, the Lambda binary with `lambda_http::run`, and tests with
//! `oneshot`. It sees storage only through `callisto-store` ports.

pub mod auth;
mod clock;
pub mod error;
mod json;
pub mod openapi;
mod routes;
mod state;
mod views;

pub use clock::{Clock, ManualClock, SystemClock};
pub use state::{ApiConfig, AppState};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::trace::TraceLayer;

/// The whole API under `/api`, with JSON errors for unknown routes and methods.
/// Callers may add a fallback (the SPA's files) for paths outside `/api`.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    Router::new()
        .nest(
            "/api",
            routes::api()
                .fallback(error::not_found)
                .method_not_allowed_fallback(error::method_not_allowed),
        )
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
}
