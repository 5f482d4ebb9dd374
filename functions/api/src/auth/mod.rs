//! Authentication: password hashes, access tokens, opaque refresh and
//! confirmation tokens, and the [`Caller`] extractor every protected handler takes.

pub mod jwt;
pub mod password;
pub mod secret;

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use callisto_domain::access::{Permission, Principal};
use callisto_domain::user::{User, UserStatus};
use callisto_store::repo::RepoError;

/// The verified caller: the principal (tenant from the token, role and group
/// from the stored user, so changes apply at once) and the user as stored.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub user: User,
    pub version: u64,
}

impl Caller {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.principal.can(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "your role ({}) may not do this",
                self.principal.role.as_str()
            )))
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::unauthenticated(
            "unauthenticated",
            "send an access token as Authorization: Bearer <token>",
        )
    };
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let claims = state.jwt.verify(bearer(parts)?, state.clock.now_ms())?;
        let gone = || {
            ApiError::unauthenticated(
                "invalid_token",
                "the account of this token no longer exists",
            )
        };
        let stored = match state.repos.users.get(&claims.tenant, &claims.user).await {
            Ok(v) => v,
            Err(RepoError::NotFound(_)) => return Err(gone()),
            Err(e) => return Err(e.into()),
        };
        match stored.value.status {
            UserStatus::Active => {}
            UserStatus::Blocked => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "user_blocked",
                    "this user is blocked by an administrator",
                ));
            }
            UserStatus::Deleted => return Err(gone()),
        }
        let user = stored.value;
        Ok(Caller {
            principal: Principal {
                tenant: user.tenant.clone(),
                user: user.id.clone(),
                role: user.role,
                group: user.group.clone(),
            },
            user,
            version: stored.version,
        })
    }
}
