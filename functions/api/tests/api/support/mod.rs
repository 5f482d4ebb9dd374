pub mod smtp;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use callisto_api::{ApiConfig, AppState, ManualClock, router};
use callisto_store::outbox::FolderOutbox;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
pub const PASSWORD: &str = "Secret123";

#[derive(Debug)]
pub struct App {
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

impl App {
    pub fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let stores = callisto_store::embedded::open(&dir.path().join("data")).unwrap();
        let outbox = Arc::new(FolderOutbox::new(
            dir.path().join("outbox"),
            "Callisto <no-reply@test>",
        ));
        let clock = Arc::new(ManualClock::new(1_790_000_000_000));
        let state = AppState::new(
            stores,
            outbox,
            clock.clone(),
            ApiConfig::new(SECRET.to_vec(), "http://app.test"),
        )
        .unwrap();
        App {
            router: router(state.clone()),
            clock,
            state,
            _dir: dir,
        }
    }

    pub async fn raw(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.raw(req.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Mails written to the outbox, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let dir = self._dir.path().join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Signs a company up, confirms it through the mailed link, logs in.
    pub async fn company(&self, email: &str) -> Session {
        let r = self
            .post(
                "/api/auth/signup",
                None,
                json!({"company_name": "Acme", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let mail = self
            .mails()
            .into_iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")))
            .unwrap();
        let token = mail
            .split("token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let c = self
            .post("/api/auth/confirm", None, json!({ "token": token }))
            .await;
        assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let r = self
            .post(
                "/api/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        Session {
            access: r.body["access_token"].as_str().unwrap().into(),
            refresh: r.body["refresh_token"].as_str().unwrap().into(),
            user_id: r.body["user"]["id"].as_str().unwrap().into(),
        }
    }

    /// Invites a user as `admin` and logs them in with the mailed password.
    pub async fn invite(
        &self,
        admin: &Session,
        email: &str,
        role: &str,
        ext: Option<&str>,
    ) -> Session {
        let r = self.post("/api/users", Some(&admin.access), json!({"email": email, "full_name": "Ivan Petrov", "role": role, "short_number": ext})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let mail = self
            .mails()
            .into_iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")))
            .unwrap();
        let pw = mail
            .split("Initial password: ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        self.login(email, &pw).await
    }
}

#[derive(Debug)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
}
