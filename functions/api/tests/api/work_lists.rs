//! Working a list (E1) and the screen pop (C12) through the router.

use crate::support;

use axum::http::{Method, StatusCode};
use callisto_domain::call::{CallId, CallRecord, Cause, Direction, HangupSide, Outcome};
use callisto_domain::ids::{ClientId, UserId};
use serde_json::{Value, json};
use support::{App, Resp, Session};

/// 2026-09-22 12:00 in Moscow (09:00 UTC), counted from the test clock's start.
const TO_MOSCOW_NOON: i64 = 67_600_000;
/// 2026-09-22 08:00 in Moscow, 15:00 in Vladivostok.
const TO_MOSCOW_EIGHT: i64 = 53_200_000;
const MINUTE: i64 = 60_000;

struct Office {
    app: App,
    admin: Session,
    ann: Session,
    bob: Session,
    done: String,
    normal: String,
    later: String,
}

fn id(r: &Resp) -> String {
    r.body["id"].as_str().unwrap().to_string()
}

/// A company whose clock reads `advance` after the start, with results
/// "Agreed" (done), "Refused" (normal) and "Call later", and two managers.
async fn office(advance: i64) -> Office {
    let app = App::new();
    app.clock.advance(advance);
    let admin = app.company("boss@acme.ru").await;
    let ann = app.invite(&admin, "ann@acme.ru", "manager", None).await;
    let bob = app.invite(&admin, "bob@acme.ru", "manager", None).await;
    let mut ids = Vec::new();
    for (name, kind) in [
        ("Agreed", "done"),
        ("Refused", "normal"),
        ("Call later", "call_later"),
    ] {
        let r = app
            .post(
                "/api/call-results",
                Some(&admin.access),
                json!({"name": name, "kind": kind}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(id(&r));
    }
    let [done, normal, later] = <[String; 3]>::try_from(ids).unwrap();
    Office {
        app,
        admin,
        ann,
        bob,
        done,
        normal,
        later,
    }
}

impl Office {
    async fn scenario(&self, managers: &[&Session], result_required: bool) -> String {
        let results: Vec<Value> = [&self.done, &self.normal, &self.later]
            .iter()
            .map(|r| json!({"result": r}))
            .collect();
        let r = self
            .app
            .post(
                "/api/scenarios",
                Some(&self.admin.access),
                json!({
                    "name": "Spring offer",
                    "managers": managers.iter().map(|m| m.user_id.clone()).collect::<Vec<_>>(),
                    "direction": "outgoing",
                    "results": results,
                    "result_required": result_required,
                    "auto_dial": true
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        id(&r)
    }

    async fn list(&self, scenario: &str, extra: Value) -> String {
        let mut body =
            json!({"name": "Spring", "scenario": scenario, "filter": {"tags": "spring"}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self
            .app
            .post("/api/work-lists", Some(&self.admin.access), body)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        id(&r)
    }

    /// A contact card of `owner` with one number.
    async fn card(&self, owner: &Session, name: &str, phone: &str, tags: &[&str]) -> String {
        let r = self
            .app
            .post(
                "/api/clients",
                Some(&owner.access),
                json!({"kind": "contact", "name": name, "phones": [phone], "tags": tags, "allow_duplicates": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        id(&r)
    }

    async fn next(&self, who: &Session, list: &str) -> Resp {
        self.app
            .post(
                &format!("/api/work-lists/{list}/next"),
                Some(&who.access),
                json!({}),
            )
            .await
    }

    async fn save(&self, who: &Session, list: &str, body: Value) -> Resp {
        self.app
            .post(
                &format!("/api/work-lists/{list}/results"),
                Some(&who.access),
                body,
            )
            .await
    }
}

fn card_id(r: &Resp) -> Option<String> {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["card"]["id"].as_str().map(str::to_string)
}

#[tokio::test]
async fn an_agent_works_a_list_card_by_card_and_done_cards_stay_closed() {
    let o = office(TO_MOSCOW_NOON).await;
    let scenario = o.scenario(&[&o.ann], false).await;
    let list = o.list(&scenario, json!({"retry_after_min": 0})).await;
    let first = o
        .card(&o.ann, "Иван Петров", "+74951234567", &["spring"])
        .await;
    let _untagged = o.card(&o.ann, "Пётр Иванов", "+74951234568", &[]).await;
    let second = o
        .card(&o.ann, "Анна Сидорова", "+74951234569", &["spring"])
        .await;

    // Bob is not a manager of the scenario: the list is not his.
    assert_eq!(o.next(&o.bob, &list).await.status, StatusCode::NOT_FOUND);
    let lists = o.app.get("/api/work-lists", &o.bob.access).await;
    assert_eq!(lists.body.as_array().unwrap().len(), 0);
    let lists = o.app.get("/api/work-lists", &o.ann.access).await;
    assert_eq!(lists.body.as_array().unwrap().len(), 1);

    let r = o.next(&o.ann, &list).await;
    assert_eq!(card_id(&r).as_deref(), Some(first.as_str()));
    assert_eq!(r.body["auto_dial"], true);
    assert_eq!(r.body["scenario"], scenario.as_str());

    // "Agreed" closes the client in this scenario; "Save and next" hands the next card.
    let r = o
        .save(
            &o.ann,
            &list,
            json!({"client": first, "result": o.done, "comment": "  wants 10  ", "next": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["card"]["closed_in"], json!([scenario]));
    assert!(r.body["card"]["last_call_at"].is_i64());
    assert_eq!(r.body["next"]["card"]["id"], second.as_str());

    // "Refused" leaves it open: the list comes round to it again, never to the closed one.
    let r = o
        .save(&o.ann, &list, json!({"client": second, "result": o.normal}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["next"].is_null());
    for _ in 0..3 {
        let r = o.next(&o.ann, &list).await;
        assert_eq!(card_id(&r).as_deref(), Some(second.as_str()));
        assert_eq!(r.body["skipped"]["closed"], 1, "{:?}", r.body);
    }

    let history = o
        .app
        .get(&format!("/api/clients/{first}/history"), &o.admin.access)
        .await;
    let entry = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "call_result")
        .unwrap_or_else(|| panic!("{:?}", history.body))
        .clone();
    assert_eq!(entry["text"], "wants 10");
    assert_eq!(entry["details"]["result"], "Agreed");
    assert_eq!(entry["details"]["scenario"], "Spring offer");
}

#[tokio::test]
async fn two_agents_asking_at_once_never_get_the_same_card() {
    let o = office(TO_MOSCOW_NOON).await;
    // Heads see every card, so both may be handed the one card there is.
    let kim = o.app.invite(&o.admin, "kim@acme.ru", "head", None).await;
    let lee = o.app.invite(&o.admin, "lee@acme.ru", "head", None).await;
    let scenario = o.scenario(&[&kim, &lee], false).await;
    let list = o.list(&scenario, json!({})).await;
    let only = o
        .card(&o.admin, "Иван Петров", "+74951234567", &["spring"])
        .await;

    let (a, b) = tokio::join!(o.next(&kim, &list), o.next(&lee, &list));
    let got: Vec<Option<String>> = vec![card_id(&a), card_id(&b)];
    assert_eq!(got.iter().flatten().collect::<Vec<_>>(), [&only], "{got:?}");
    let loser = if got[0].is_some() { &b } else { &a };
    assert_eq!(loser.body["skipped"]["claimed"], 1, "{:?}", loser.body);
    assert_eq!(loser.body["more"], false);

    // The loser cannot save a result over the winner's claim either.
    let loser_session = if got[0].is_some() { &lee } else { &kim };
    let r = o
        .save(
            loser_session,
            &list,
            json!({"client": only, "result": o.normal}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "claimed"),
        "{:?}",
        r.body
    );

    // A claim lapses after 15 minutes without a result: then the card is free again.
    o.app.clock.advance(15 * MINUTE);
    let r = o
        .app
        .post(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": loser_session.refresh}),
        )
        .await;
    let again = Session {
        access: r.body["access_token"].as_str().unwrap().to_string(),
        refresh: r.body["refresh_token"].as_str().unwrap().to_string(),
        user_id: loser_session.user_id.clone(),
    };
    let r = o.next(&again, &list).await;
    assert_eq!(card_id(&r).as_deref(), Some(only.as_str()));
}

#[tokio::test]
async fn a_scenario_that_wants_a_result_holds_the_agent_on_the_card() {
    let o = office(TO_MOSCOW_NOON).await;
    let scenario = o.scenario(&[&o.ann], true).await;
    let list = o.list(&scenario, json!({})).await;
    let first = o
        .card(&o.ann, "Иван Петров", "+74951234567", &["spring"])
        .await;
    o.card(&o.ann, "Анна Сидорова", "+74951234569", &["spring"])
        .await;

    assert_eq!(
        card_id(&o.next(&o.ann, &list).await).as_deref(),
        Some(first.as_str())
    );
    let r = o.next(&o.ann, &list).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "result_required"),
        "{:?}",
        r.body
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&first)
    );

    // "Save and stay", then the next card.
    let r = o
        .save(&o.ann, &list, json!({"client": first, "result": o.normal}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = o.next(&o.ann, &list).await;
    assert_ne!(card_id(&r).as_deref(), Some(first.as_str()));
    assert!(card_id(&r).is_some());
}

#[tokio::test]
async fn cards_are_offered_within_the_clients_hours_and_not_called_again_too_soon() {
    let o = office(TO_MOSCOW_EIGHT + 50 * MINUTE).await;
    let scenario = o.scenario(&[&o.ann], false).await;
    let list = o.list(&scenario, json!({"retry_after_min": 10})).await;
    let moscow = o.card(&o.ann, "Москва", "+74951234567", &["spring"]).await;
    let vladivostok = o
        .card(&o.ann, "Владивосток", "+74232123456", &["spring"])
        .await;

    // 08:50 in Moscow, 15:50 in Vladivostok.
    let r = o.next(&o.ann, &list).await;
    assert_eq!(card_id(&r).as_deref(), Some(vladivostok.as_str()));
    assert_eq!(r.body["skipped"]["outside_hours"], 1, "{:?}", r.body);
    let r = o
        .save(
            &o.ann,
            &list,
            json!({"client": vladivostok, "result": o.normal}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Nothing else may be offered now, and the answer says why.
    let r = o.next(&o.ann, &list).await;
    assert_eq!(card_id(&r), None);
    assert_eq!(r.body["skipped"]["outside_hours"], 1, "{:?}", r.body);
    assert_eq!(r.body["skipped"]["called_recently"], 1, "{:?}", r.body);

    // At 09:00 Moscow is open; Vladivostok (called ten minutes ago) comes back too.
    o.app.clock.advance(10 * MINUTE);
    let r = o.next(&o.ann, &list).await;
    assert_eq!(card_id(&r).as_deref(), Some(moscow.as_str()));
    let r = o
        .save(
            &o.ann,
            &list,
            json!({"client": moscow, "result": o.normal, "next": true}),
        )
        .await;
    assert_eq!(
        r.body["next"]["card"]["id"],
        vladivostok.as_str(),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn a_result_is_checked_and_lands_on_the_call_record() {
    let o = office(TO_MOSCOW_NOON).await;
    let scenario = o.scenario(&[&o.ann, &o.bob], false).await;
    let list = o.list(&scenario, json!({})).await;
    let client = o
        .card(&o.ann, "Иван Петров", "+74951234567", &["spring"])
        .await;
    let unused = o
        .app
        .post(
            "/api/call-results",
            Some(&o.admin.access),
            json!({"name": "Unused", "kind": "normal"}),
        )
        .await;
    let unused = id(&unused);

    let now = {
        use callisto_api::Clock;
        o.app.clock.now_ms()
    };
    let tenant = o
        .app
        .state
        .repos
        .users
        .find_login("ann@acme.ru")
        .await
        .unwrap()
        .unwrap()
        .tenant;
    let call = |agent: &Session, seq: u128| CallRecord {
        id: CallId::parse(
            ulid::Ulid::from_parts(u64::try_from(now - 70_000).unwrap(), seq).to_string(),
        )
        .unwrap(),
        tenant: tenant.clone(),
        direction: Direction::Outbound,
        from: "+74950000000".into(),
        to: "+74951234567".into(),
        agent: Some(UserId::parse(&agent.user_id).unwrap()),
        client: Some(ClientId::parse(&client).unwrap()),
        line: None,
        started_at: now - 70_000,
        answered_at: Some(now - 60_000),
        ended_at: now - 1_000,
        outcome: Outcome::Answered,
        hangup: HangupSide::Callee,
        cause: Cause {
            code: 200,
            reason: "BYE".into(),
        },
        recording: None,
    };
    let anns = call(&o.ann, 1);
    let bobs = call(&o.bob, 2);
    o.app.state.repos.calls.record(&anns).await.unwrap();
    o.app.state.repos.calls.record(&bobs).await.unwrap();

    for (body, field, what) in [
        (
            json!({"client": client, "result": unused}),
            "result",
            "a result the scenario does not offer",
        ),
        (
            json!({"client": client, "result": o.later}),
            "call_back_at",
            "call later without a time",
        ),
        (
            json!({"client": client, "result": o.later, "call_back_at": now - 1}),
            "call_back_at",
            "a call-back in the past",
        ),
        (
            json!({"client": client, "result": o.normal, "comment": "x".repeat(1001)}),
            "comment",
            "a comment too long",
        ),
        (
            json!({"client": client, "result": o.normal, "call": bobs.id.as_str()}),
            "call",
            "someone else's call",
        ),
        (
            json!({"client": client, "result": o.normal, "call": "nonsense"}),
            "call",
            "not a call id",
        ),
        (
            json!({"client": "C404", "result": o.normal}),
            "client",
            "no such client",
        ),
    ] {
        let r = o.save(&o.ann, &list, body).await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{what}: {:?}",
            r.body
        );
    }
    // A call that has just ended, whose record is not in yet: try again shortly.
    let pending = ulid::Ulid::from_parts(u64::try_from(now - 5_000).unwrap(), 9).to_string();
    let r = o
        .save(
            &o.ann,
            &list,
            json!({"client": client, "result": o.normal, "call": pending}),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.field()),
        (StatusCode::CONFLICT, "call_pending", "call"),
        "{:?}",
        r.body
    );
    assert_eq!(r.headers["retry-after"], "1");
    // An old call id with no record is simply unknown.
    let old = ulid::Ulid::from_parts(u64::try_from(now - 5 * 3_600_000).unwrap(), 9).to_string();
    let r = o
        .save(
            &o.ann,
            &list,
            json!({"client": client, "result": o.normal, "call": old}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "call"),
        "{:?}",
        r.body
    );
    // None of those changed the card.
    let card = o
        .app
        .get(&format!("/api/clients/{client}"), &o.admin.access)
        .await;
    assert!(card.body["last_call_at"].is_null(), "{:?}", card.body);

    let r = o
        .save(&o.ann, &list, json!({"client": client, "result": o.later, "call_back_at": now + 3_600_000, "call": anns.id.as_str(), "comment": "after lunch"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["card"]["last_call_at"], anns.started_at);
    let shown = o
        .app
        .get(&format!("/api/calls/{}", anns.id), &o.ann.access)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(shown.body["result"]["result_name"], "Call later");
    assert_eq!(shown.body["result"]["comment"], "after lunch");
    assert_eq!(shown.body["result"]["work_list"], list.as_str());
    // "Call later" planned the call back for Ann at the time she gave.
    let events = o
        .app
        .get(&format!("/api/clients/{client}/events"), &o.ann.access)
        .await;
    assert_eq!(events.status, StatusCode::OK, "{:?}", events.body);
    let planned = events
        .body
        .as_array()
        .or_else(|| events.body["items"].as_array())
        .unwrap();
    assert_eq!(planned.len(), 1, "{:?}", events.body);
    assert_eq!(planned[0]["kind"], "call_back");
    assert_eq!(planned[0]["due_at"], now + 3_600_000);
    assert_eq!(planned[0]["assignee"], o.ann.user_id.as_str());
    assert_eq!(planned[0]["note"], "after lunch");
}

#[tokio::test]
async fn a_work_list_names_its_bad_fields() {
    let o = office(TO_MOSCOW_NOON).await;
    let scenario = o.scenario(&[&o.ann], false).await;
    for (body, field) in [
        (json!({"name": "L", "scenario": "S404"}), "scenario"),
        (json!({"name": " ", "scenario": scenario}), "name"),
        (
            json!({"name": "L", "scenario": scenario, "calling_hours": "9-21"}),
            "calling_hours",
        ),
        (
            json!({"name": "L", "scenario": scenario, "filter": {"q": "ivan"}}),
            "filter.q",
        ),
        (
            json!({"name": "L", "scenario": scenario, "filter": {"kind": "robot"}}),
            "filter.kind",
        ),
        (
            json!({"name": "L", "scenario": scenario, "retry_after_min": 50_000}),
            "retry_after_min",
        ),
    ] {
        let r = o
            .app
            .post("/api/work-lists", Some(&o.admin.access), body.clone())
            .await;
        assert_eq!(
            (r.status, r.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{body}: {:?}",
            r.body
        );
    }
    let r = o
        .app
        .post(
            "/api/work-lists",
            Some(&o.ann.access),
            json!({"name": "L", "scenario": scenario}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        o.app.get("/api/work-lists", &o.admin.access).await.body,
        json!([])
    );

    // Edit with the version read; a stale version is refused.
    let list = o.list(&scenario, json!({})).await;
    let path = format!("/api/work-lists/{list}");
    let body = json!({"name": "Autumn", "scenario": scenario, "calling_hours": "10:00-19:30", "version": 1});
    let r = o
        .app
        .call(
            Method::PUT,
            &path,
            Some(&o.admin.access),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["calling_hours"], "10:00-19:30");
    let r = o
        .app
        .call(Method::PUT, &path, Some(&o.admin.access), Some(body))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "stale"),
        "{:?}",
        r.body
    );
    let r = o
        .app
        .call(
            Method::DELETE,
            &format!("{path}?version=2"),
            Some(&o.admin.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        o.app.get(&path, &o.admin.access).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_screen_pop_finds_the_caller_or_offers_a_new_lead() {
    let o = office(TO_MOSCOW_NOON).await;
    let anns = o.card(&o.ann, "Иван Петров", "+74951234567", &[]).await;
    o.card(&o.bob, "Пётр Сидоров", "+74951112233", &[]).await;
    let pop = |who: &Session, q: &str| {
        let path = format!("/api/screen-pop?{q}");
        let token = who.access.clone();
        let app = &o.app;
        async move { app.get(&path, &token).await }
    };

    let r = pop(&o.ann, "number=8%20(495)%20123-45-67").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["status"].as_str(), r.body["card"]["id"].as_str()),
        (Some("known"), Some(anns.as_str()))
    );
    assert_eq!(r.body["display"], "+7 495 123-45-67");

    // Bob's client: Ann learns it is a colleague's, not the card.
    let r = pop(&o.ann, "number=%2B74951112233").await;
    assert_eq!(r.body["status"], "other", "{:?}", r.body);
    assert!(r.body["card"].is_null());

    let r = pop(&o.ann, "number=%2B79990001122").await;
    assert_eq!(r.body["status"], "unknown");
    assert_eq!(r.body["draft"]["phones"][0]["e164"], "+79990001122");
    assert_eq!(
        o.app.get("/api/clients", &o.ann.access).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let r = pop(&o.ann, "number=%2B79990001122&create=true").await;
    assert_eq!(r.body["status"], "created", "{:?}", r.body);
    let created = r.body["card"]["id"].as_str().unwrap().to_string();
    let r = pop(&o.ann, "number=%2B79990001122&create=true").await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["card"]["id"].as_str()),
        (Some("known"), Some(created.as_str()))
    );

    let r = pop(&o.ann, "number=12").await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::BAD_REQUEST, "number"),
        "{:?}",
        r.body
    );

    // The line called names its incoming scenario.
    let s = o
        .app
        .post(
            "/api/scenarios",
            Some(&o.admin.access),
            json!({"name": "Hotline", "direction": "incoming", "incoming_number": "+74950000000"}),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
    let r = pop(&o.ann, "number=%2B74951234567&line=84950000000").await;
    assert_eq!(r.body["scenario"], s.body["id"]);
}
