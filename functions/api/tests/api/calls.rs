//! The call log and recordings through the router, within each role's scope (G2, G3).

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use callisto_domain::call::{
    CallId, CallRecord, Cause, Direction, HangupSide, Outcome, RecordingRef, recording_key,
};
use callisto_domain::ids::{ClientId, TenantId, UserId};
use callisto_store::blob::BlobKey;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::{App, Session};
use tower::ServiceExt;

/// The test clock's now: 2026-09-21 14:13:20 UTC.
const NOW: i64 = 1_790_000_000_000;
const HOUR: i64 = 3_600_000;
/// 2026-08-15 00:00 UTC.
const AUGUST: i64 = 1_786_752_000_000;

struct Company {
    app: App,
    t: TenantId,
    admin: Session,
    head: Session,
    leader: Session,
    ann: Session,
    bob: Session,
}

async fn tenant_of(app: &App, email: &str) -> TenantId {
    app.state
        .repos
        .users
        .find_login(email)
        .await
        .unwrap()
        .unwrap()
        .tenant
}

/// A company with a sales group (a leader and Ann) and Bob outside it.
async fn company() -> Company {
    let app = App::new();
    let admin = app.company("boss@acme.ru").await;
    let head = app.invite(&admin, "head@acme.ru", "head", None).await;
    let leader = app
        .invite(&admin, "lead@acme.ru", "group_leader", None)
        .await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let g = app
        .post("/api/groups", Some(&admin.access), json!({"name": "Sales"}))
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{:?}", g.body);
    let gid = g.body["id"].as_str().unwrap();
    for who in [&leader, &ann] {
        let r = app
            .patch(
                &format!("/api/users/{}", who.user_id),
                &admin.access,
                json!({"group_id": gid}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    // Tokens carry no group: the stored user is read on every request.
    let t = tenant_of(&app, "boss@acme.ru").await;
    Company {
        app,
        t,
        admin,
        head,
        leader,
        ann,
        bob,
    }
}

fn record(
    t: &TenantId,
    at: i64,
    seq: u128,
    agent: Option<&Session>,
    client: Option<&str>,
) -> CallRecord {
    let id = ulid::Ulid::from_parts(u64::try_from(at).unwrap(), seq).to_string();
    CallRecord {
        id: CallId::parse(id).unwrap(),
        tenant: t.clone(),
        direction: Direction::Outbound,
        from: "+74951234567".into(),
        to: "+79123456789".into(),
        agent: agent.map(|s| UserId::parse(&s.user_id).unwrap()),
        client: client.map(|c| ClientId::parse(c).unwrap()),
        line: Some("Main line".into()),
        started_at: at,
        answered_at: Some(at + 5_000),
        ended_at: at + 65_000,
        outcome: Outcome::Answered,
        hangup: HangupSide::Callee,
        cause: Cause {
            code: 200,
            reason: "BYE".into(),
        },
        recording: None,
    }
}

fn missed(mut r: CallRecord) -> CallRecord {
    r.direction = Direction::Inbound;
    r.answered_at = None;
    r.outcome = Outcome::Missed;
    r.hangup = HangupSide::Caller;
    r.cause = Cause {
        code: 487,
        reason: "Request Terminated".into(),
    };
    r
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn id_list(records: &[&CallRecord]) -> Vec<String> {
    records.iter().map(|r| r.id.to_string()).collect()
}

/// The raw bytes of a response (recordings are not JSON).
async fn raw_get(
    app: &App,
    path: &str,
    token: &str,
    range: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder()
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(r) = range {
        req = req.header(header::RANGE, r);
    }
    let resp = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

#[tokio::test]
async fn the_call_log_lists_the_month_newest_first_within_each_scope() {
    let Company {
        app,
        t,
        admin,
        head,
        leader,
        ann,
        bob,
    } = company().await;
    let ann1 = record(&t, NOW - HOUR, 1, Some(&ann), Some("c1"));
    let ann2 = missed(record(&t, NOW - 2 * HOUR, 2, Some(&ann), None));
    let ann3 = record(&t, NOW - 3 * HOUR, 3, Some(&ann), Some("c2"));
    let bob1 = record(&t, NOW - 90 * 60_000, 4, Some(&bob), Some("c1"));
    let bob2 = record(&t, NOW - 4 * HOUR, 5, Some(&bob), None);
    let nobody = missed(record(&t, NOW - 30 * 60_000, 6, None, None));
    let august = record(&t, AUGUST, 7, Some(&ann), Some("c1"));
    for r in [&ann1, &ann2, &ann3, &bob1, &bob2, &nobody, &august] {
        app.state.repos.calls.record(r).await.unwrap();
    }
    let september = id_list(&[&nobody, &ann1, &bob1, &ann2, &ann3, &bob2]);

    // Administrators and heads see the whole month, newest first; the month defaults to now's.
    for who in [&admin, &head] {
        let r = app.get("/api/calls", &who.access).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(ids(&r.body), september);
        assert!(r.body.get("cursor").is_none());
    }
    let r = app.get("/api/calls?month=2026-09", &admin.access).await;
    assert_eq!(ids(&r.body), september);
    let r = app.get("/api/calls?month=2026-08", &admin.access).await;
    assert_eq!(ids(&r.body), id_list(&[&august]));
    let r = app.get("/api/calls?month=2026-07", &admin.access).await;
    assert_eq!(ids(&r.body), Vec::<String>::new());

    // Pages of two, cursor to cursor, give the same list.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/calls?limit=2&cursor={c}"),
            None => "/api/calls?limit=2".into(),
        };
        let r = app.get(&path, &admin.access).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let page = ids(&r.body);
        assert!(page.len() <= 2);
        seen.extend(page);
        match r.body["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, september);

    // A row carries what the log shows.
    let r = app.get("/api/calls?limit=2", &admin.access).await;
    let row = &r.body["items"][1];
    assert_eq!(row["id"], ann1.id.to_string());
    assert_eq!(row["direction"], "outbound");
    assert_eq!(row["agent"], ann.user_id.as_str());
    assert_eq!(row["client"], "c1");
    assert_eq!(row["line"], "Main line");
    assert_eq!(row["ring_ms"], 5_000);
    assert_eq!(row["talk_ms"], 60_000);
    assert_eq!(row["outcome"], "answered");
    assert_eq!(row["hangup"], "callee");
    assert_eq!(row["cause"], json!({"code": 200, "reason": "BYE"}));
    assert_eq!(row["has_recording"], false);
    let row = &r.body["items"][0];
    assert_eq!(
        (
            row["outcome"].clone(),
            row["agent"].clone(),
            row["talk_ms"].clone()
        ),
        (json!("missed"), Value::Null, json!(0))
    );

    // Filters by agent and by card.
    let r = app
        .get(&format!("/api/calls?agent={}", bob.user_id), &admin.access)
        .await;
    assert_eq!(ids(&r.body), id_list(&[&bob1, &bob2]));
    let r = app.get("/api/calls?client=c1", &admin.access).await;
    assert_eq!(ids(&r.body), id_list(&[&ann1, &bob1]));
    let r = app
        .get(
            &format!("/api/calls?client=c1&agent={}&month=2026-08", ann.user_id),
            &admin.access,
        )
        .await;
    assert_eq!(ids(&r.body), id_list(&[&august]));

    // A group leader sees the calls of the group's members only.
    let r = app.get("/api/calls", &leader.access).await;
    assert_eq!(ids(&r.body), id_list(&[&ann1, &ann2, &ann3]));
    let r = app
        .get(&format!("/api/calls?agent={}", ann.user_id), &leader.access)
        .await;
    assert_eq!(ids(&r.body), id_list(&[&ann1, &ann2, &ann3]));
    let r = app
        .get(&format!("/api/calls?agent={}", bob.user_id), &leader.access)
        .await;
    assert_eq!((r.status, r.field()), (StatusCode::FORBIDDEN, "agent"));
    let r = app.get("/api/calls?client=c1", &leader.access).await;
    assert_eq!(ids(&r.body), id_list(&[&ann1]));

    // A manager sees own calls only, by default and when asking for them.
    let r = app.get("/api/calls", &ann.access).await;
    assert_eq!(ids(&r.body), id_list(&[&ann1, &ann2, &ann3]));
    let r = app
        .get(&format!("/api/calls?agent={}", ann.user_id), &ann.access)
        .await;
    assert_eq!(ids(&r.body), id_list(&[&ann1, &ann2, &ann3]));
    let r = app.get("/api/calls?limit=1", &ann.access).await;
    assert_eq!(ids(&r.body), id_list(&[&ann1]));
    assert!(r.body["cursor"].is_string());
    for other in [&bob, &admin] {
        let r = app
            .get(&format!("/api/calls?agent={}", other.user_id), &ann.access)
            .await;
        assert_eq!(
            (r.status, r.code(), r.field()),
            (StatusCode::FORBIDDEN, "forbidden", "agent"),
            "{:?}",
            r.body
        );
    }
    let r = app.get("/api/calls?client=c1", &bob.access).await;
    assert_eq!(ids(&r.body), id_list(&[&bob1]));

    // One call by id, within the same scope; out of scope it does not exist.
    let path = format!("/api/calls/{}", ann1.id);
    for who in [&admin, &head, &leader, &ann] {
        let r = app.get(&path, &who.access).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["id"], ann1.id.to_string());
    }
    let r = app.get(&path, &bob.access).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .get(&format!("/api/calls/{}", nobody.id), &leader.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Another company sees none of it, not even by id.
    let other = app.company("boss@other.pl").await;
    let r = app.get("/api/calls", &other.access).await;
    assert_eq!(ids(&r.body), Vec::<String>::new());
    let r = app.get(&path, &other.access).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let unknown = ulid::Ulid::from_parts(NOW as u64, 99).to_string();
    for id in [unknown.as_str(), "nope", "not-a-ulid"] {
        let r = app.get(&format!("/api/calls/{id}"), &admin.access).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {:?}", r.body);
    }
}

#[tokio::test]
async fn bad_call_log_queries_name_the_parameter() {
    let Company { app, admin, .. } = company().await;
    for (query, field) in [
        ("month=2026-13", "month"),
        ("month=2026-00", "month"),
        ("month=2026/09", "month"),
        ("month=sept", "month"),
        ("month=26-09", "month"),
        ("agent=a.b", "agent"),
        ("client=a%23b", "client"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
    ] {
        let r = app.get(&format!("/api/calls?{query}"), &admin.access).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::BAD_REQUEST, field),
            "{query}: {:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn recordings_download_within_scope() {
    let Company {
        app,
        t,
        admin,
        leader,
        ann,
        bob,
        ..
    } = company().await;
    let mut with_rec = record(&t, NOW - HOUR, 1, Some(&ann), Some("c1"));
    let key = recording_key(&t, &with_rec.id, with_rec.started_at, "wav");
    let wav: Vec<u8> = b"RIFF\x24\x00\x00\x00WAVEfmt "
        .iter()
        .copied()
        .chain((0..4000u32).map(|i| (i % 251) as u8))
        .collect();
    let path = key.strip_prefix(&BlobKey::tenant_prefix(&t)).unwrap();
    app.state
        .stores
        .blobs
        .put(&BlobKey::new(&t, path).unwrap(), wav.clone(), "audio/wav")
        .await
        .unwrap();
    with_rec.recording = Some(RecordingRef {
        key,
        format: "wav".into(),
        bytes: wav.len() as u64,
        duration_ms: 60_000,
    });
    let without = record(&t, NOW - 2 * HOUR, 2, Some(&ann), None);
    for r in [&with_rec, &without] {
        app.state.repos.calls.record(r).await.unwrap();
    }
    let r = app
        .get(&format!("/api/calls/{}", with_rec.id), &ann.access)
        .await;
    assert_eq!(r.body["has_recording"], true);

    let url = format!("/api/calls/{}/recording", with_rec.id);
    for who in [&admin, &leader, &ann] {
        let (status, headers, bytes) = raw_get(&app, &url, &who.access, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "audio/wav");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"{}.wav\"", with_rec.id).as_str()
        );
        assert_eq!(bytes, wav);
    }
    // A player seeks with Range.
    let (status, headers, bytes) = raw_get(&app, &url, &ann.access, Some("bytes=4-11")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(headers[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(bytes, wav[4..12].to_vec());

    // Out of scope or in another company: no such call.
    let (status, _, _) = raw_get(&app, &url, &bob.access, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = app.company("boss@other.pl").await;
    let (status, _, bytes) = raw_get(&app, &url, &other.access, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(bytes, wav);

    // A call without a recording says so.
    let r = app
        .get(&format!("/api/calls/{}/recording", without.id), &ann.access)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::NOT_FOUND, "no_recording"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no recording")
    );
}
