//! Extractors that turn axum's rejections into [`ApiError`]s naming the field.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

/// `Json<T>` with errors in the API's shape. Request types use
/// `#[serde(deny_unknown_fields)]`, so a misspelt field is named, not ignored.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            let detail = text
                .split_once("target type: ")
                .map_or(text.as_str(), |(_, d)| d)
                .to_string();
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                detail.clone(),
            );
            if let Some(field) = field_of(&detail) {
                err = err.with_field(field);
            }
            err
        }
        JsonRejection::JsonSyntaxError(e) => {
            let text = e.body_text();
            let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("request body is not valid JSON: {detail}"),
            )
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body is larger than the limit",
        ),
        other => ApiError::new(other.status(), "bad_request", other.body_text()),
    }
}

/// The field a serde error names: `unknown field `x``, `missing field `x``,
/// or a `path: …` prefix from serde_path_to_error; nested fields by their
/// whole path (`filter.colour`).
fn field_of(detail: &str) -> Option<String> {
    let path = detail.split_once(": ").map(|(p, _)| p).filter(|p| {
        !p.is_empty() && *p != "." && p.chars().all(|c| c.is_alphanumeric() || "_.[]".contains(c))
    });
    for (marker, path_names_it) in [("unknown field `", true), ("missing field `", false)] {
        if let Some(rest) = detail.split_once(marker).map(|(_, r)| r) {
            let field = rest.split_once('`').map(|(f, _)| f.to_string())?;
            // An unknown field's path ends with it; a missing one's is its parent's.
            return Some(match path {
                Some(p) if path_names_it && p.ends_with(field.as_str()) => p.to_string(),
                Some(p) if !path_names_it => format!("{p}.{field}"),
                _ => field,
            });
        }
    }
    path.map(str::to_string)
}

/// `Query<T>` with errors in the API's shape.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let text = e.body_text();
                let detail = text
                    .split_once("string: ")
                    .map_or(text.as_str(), |(_, d)| d)
                    .to_string();
                let mut err =
                    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", detail.clone());
                if let Some(f) = field_of(&detail) {
                    err = err.with_field(f);
                }
                Err(err)
            }
        }
    }
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub fn present<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(
            field_of("unknown field `emial`, expected one of `email`").as_deref(),
            Some("emial")
        );
        assert_eq!(
            field_of("missing field `password` at line 1 column 2").as_deref(),
            Some("password")
        );
        assert_eq!(
            field_of("email: invalid type: integer `5`, expected a string").as_deref(),
            Some("email")
        );
        assert_eq!(field_of("invalid type: map, expected a string"), None);
    }
}
