use super::{Backend, tenant};
use callisto_domain::agent_state::{AgentState, AgentStatus, StateChange};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::event::{Event, EventKind};
use callisto_domain::ids::{ClientId, EventId, UserId};
use callisto_store::Repos;
use callisto_store::repo::{Journal, RepoError};
use std::collections::BTreeMap;

const T0: i64 = 1_790_000_000_000;
const HOUR: i64 = 3_600_000;

fn card(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        kind: ClientKind::Organization,
        organization: None,
        name: id.to_uppercase(),
        first_name: None,
        last_name: None,
        patronymic: None,
        position: None,
        phones: vec![],
        emails: vec![],
        city: None,
        industry: None,
        website: None,
        inn: None,
        description: None,
        tags: vec![],
        client_type: None,
        custom: BTreeMap::new(),
        responsible: UserId::parse("ann").unwrap(),
        responsible_group: None,
        created_at: 0,
        updated_at: 0,
        deleted_at: None,
        deleted_by: None,
        last_call_at: None,
        closed_in: vec![],
    }
}

fn event(id: &str, client: &str, assignee: &str, due_at: i64) -> Event {
    Event {
        id: EventId::parse(id).unwrap(),
        kind: EventKind::Meeting,
        client: ClientId::parse(client).unwrap(),
        due_at,
        assignee: UserId::parse(assignee).unwrap(),
        author: UserId::parse("ann").unwrap(),
        note: String::new(),
        done_at: None,
        reminded_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn ids(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

/// Every event listing is a range read of an index sorted by due time.
pub async fn repo_events_by_card_calendar_and_reminder_index(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("events");
    for c in ["c1", "c2"] {
        r.clients
            .create(&t, &card(c), &Journal::default())
            .await
            .unwrap();
    }
    let all = [
        event("e3", "c1", "ann", T0 + 3 * HOUR),
        event("e1", "c1", "ann", T0 + HOUR),
        event("e2", "c2", "ann", T0 + 2 * HOUR),
        event("e4", "c2", "bob", T0 + 2 * HOUR),
        event("e5", "c1", "ann", T0 + 5 * HOUR),
    ];
    for e in &all {
        r.events.create(&t, e, &Journal::default()).await.unwrap();
    }
    let missing = event("e9", "nope", "ann", T0);
    assert!(matches!(
        r.events.create(&t, &missing, &Journal::default()).await,
        Err(RepoError::NotFound("client"))
    ));

    let c1 = r
        .events
        .of_client(&t, &ClientId::parse("c1").unwrap(), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&c1.items), ["e1", "e3", "e5"]);
    let ann = UserId::parse("ann").unwrap();
    let cal = r
        .events
        .calendar(&t, &ann, T0 + HOUR, T0 + 5 * HOUR, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&cal.items), ["e1", "e2", "e3"], "[from, to)");
    let first = r
        .events
        .calendar(&t, &ann, T0, T0 + 6 * HOUR, None, 2)
        .await
        .unwrap();
    assert_eq!(ids(&first.items), ["e1", "e2"]);
    let rest = r
        .events
        .calendar(&t, &ann, T0, T0 + 6 * HOUR, first.cursor, 2)
        .await
        .unwrap();
    assert_eq!(ids(&rest.items), ["e3", "e5"]);

    // Due up to T0 + 2h, the bound included; e3 and e5 are later.
    let due = r
        .events
        .awaiting_reminder(&t, T0 + 2 * HOUR + 1, 10)
        .await
        .unwrap();
    let due_ids: Vec<&str> = due.iter().map(|v| v.value.id.as_str()).collect();
    assert_eq!(due_ids, ["e1", "e2", "e4"]);
    // A reminded event leaves that index; moving it brings it back.
    let mut e1 = due[0].value.clone();
    e1.reminded_at = Some(T0);
    let v = r
        .events
        .update(&t, &e1, due[0].version, &Journal::default())
        .await
        .unwrap();
    let due = r
        .events
        .awaiting_reminder(&t, T0 + HOUR + 1, 10)
        .await
        .unwrap();
    assert!(due.is_empty());
    assert!(matches!(
        r.events.update(&t, &e1, v - 1, &Journal::default()).await,
        Err(RepoError::Stale("event"))
    ));
    e1.reschedule(T0 + HOUR / 2);
    r.events
        .update(&t, &e1, v, &Journal::default())
        .await
        .unwrap();
    let due = r
        .events
        .awaiting_reminder(&t, T0 + HOUR + 1, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].value.due_at, T0 + HOUR / 2);
}

/// The current state and its history are written together, conditionally.
pub async fn repo_agent_states_and_history(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("states");
    let ann = UserId::parse("ann").unwrap();
    assert!(r.agent_states.get(&t, &ann).await.unwrap().is_none());
    let steps = [
        (AgentState::Available, AgentState::Dnd, T0),
        (AgentState::Dnd, AgentState::Offline, T0),
        (AgentState::Offline, AgentState::Available, T0 + HOUR),
    ];
    let mut version = 0;
    for (from, to, at) in steps {
        let status = AgentStatus {
            user: ann.clone(),
            state: to.clone(),
            since: at,
        };
        let change = StateChange {
            user: ann.clone(),
            from,
            to,
            at,
        };
        version = r
            .agent_states
            .set(&t, &status, version, &change)
            .await
            .unwrap();
    }
    let stale = AgentStatus {
        user: ann.clone(),
        state: AgentState::Dnd,
        since: T0,
    };
    let change = StateChange {
        user: ann.clone(),
        from: AgentState::Available,
        to: AgentState::Dnd,
        at: T0 + 2 * HOUR,
    };
    assert!(matches!(
        r.agent_states.set(&t, &stale, 1, &change).await,
        Err(RepoError::Stale(_))
    ));
    let now = r.agent_states.get(&t, &ann).await.unwrap().unwrap();
    assert_eq!((now.value.state, now.version), (AgentState::Available, 3));
    assert_eq!(r.agent_states.all(&t).await.unwrap().len(), 1);
    let first_hour = r
        .agent_states
        .history(&t, &ann, T0, T0 + HOUR, None, 10)
        .await
        .unwrap();
    let tos: Vec<AgentState> = first_hour.items.into_iter().map(|c| c.to).collect();
    assert_eq!(
        tos,
        [AgentState::Dnd, AgentState::Offline],
        "two changes in one millisecond"
    );
    let all = r
        .agent_states
        .history(&t, &ann, T0, T0 + 2 * HOUR, None, 10)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
}
