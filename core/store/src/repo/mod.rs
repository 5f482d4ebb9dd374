//! Typed repositories, one per aggregate, over the [`ItemStore`] port.
//!
//! Key layout (single table, mirrored by every backend):
//!
//! | item | pk | sk | indexes |
//! |---|---|---|---|
//! | tenant | `T#<t>` | `TENANT` | |
//! | card settings | `T#<t>` | `CARDSETTINGS` | |
//! | trunk settings, registration state | `T#<t>` | `TRUNK`, `TRUNKSTATUS` | |
//! | agent SIP credentials (HA1s) | `T#<t>` | `SIPCRED#<u>` | |
//! | user | `T#<t>` | `USER#<u>` | gsi1 `T#<t>#GROUP#<g>` / `USER#<u>` |
//! | group | `T#<t>` | `GROUP#<g>` | |
//! | short-number claim | `T#<t>` | `EXT#<n>` | |
//! | refresh token | `T#<t>` | `REFRESH#<sha256>` | gsi1 `T#<t>#USER#<u>#REFRESH` / `REFRESH#<sha256>` |
//! | one-time token | `T#<t>` | `TOKEN#<sha256>` | |
//! | login directory | `P#EMAIL#<email>` | `LOGIN` | |
//! | login throttle | `P#THROTTLE#<email>` | `LOGIN` | |
//! | tenant registry | `P#TENANTS` | `<t>` | |
//! | client card | `T#<t>` | `CLIENT#<c>` | gsi1 `T#<t>#RESP#<u>`, gsi2 `T#<t>#RGROUP#<g>`, gsi3 `T#<t>#ORG#<org>` / `CLIENT#<c>` |
//! | phone / e-mail lookup | `T#<t>#PHONE#<e164>`, `T#<t>#EMAIL#<email>` | `CLIENT#<c>` | |
//! | recycle-bin entry | `T#<t>#BIN` | `<deleted-at>#<c>` | |
//! | import job | `T#<t>` | `IMPORT#<i>` | |
//! | rejected import row | `T#<t>#IMPREJ#<i>` | `<row>` | |
//! | tag list entry | `T#<t>#TAGS` | `<tag>` | |
//! | bulk-action job | `T#<t>` | `BULK#<b>` | |
//! | duplicate search | `T#<t>` | `DEDUP#<d>` | |
//! | duplicate group | `T#<t>#DUPGRP#<d>` | `<n, 8 digits>` | |
//! | call result | `T#<t>` | `CALLRESULT#<r>` | |
//! | scenario | `T#<t>` | `SCENARIO#<s>` | |
//! | questionnaire | `T#<t>` | `QUESTIONNAIRE#<q>` | |
//! | questionnaire answers of a call | `T#<t>#ANSWERS#<q>` | `<call>` | gsi1 `T#<t>#ANSWERS#CLIENT#<c>` / `<q>#<call>` |
//! | mail account (SMTP) | `T#<t>` | `MAILACCOUNT#<a>` | |
//! | e-mail template | `T#<t>` | `EMAILTEMPLATE#<e>` | |
//! | a user's mail signature | `T#<t>` | `MAILSIG#<u>` | |
//! | mail sent from a card | `T#<t>` | `MAIL#<m>` | gsi1 `T#<t>#MAILS#CLIENT#<c>` / `<m>` |
//! | call record | `T#<t>#CALLS#<yyyy-mm>` (month of the id's ULID time) | `<call>` | gsi1 `T#<t>#CALLS#USER#<u>`, gsi2 `T#<t>#CALLS#CLIENT#<c>` / `<call>` |
//! | work list, its place in the base | `T#<t>` | `WORKLIST#<l>`, `WLCURSOR#<l>` | |
//! | card claim (held by an agent) | `T#<t>` | `CLAIM#<c>` | gsi1 `T#<t>#HOLD#<l>#<u>` / `<c>` |
//! | result saved for a call | `T#<t>` | `CALLRES#<call>` | |
//! | event | `T#<t>` | `EVENT#<e>` | gsi1 `T#<t>#EVENTS#CLIENT#<c>`, gsi2 `T#<t>#EVENTS#USER#<assignee>`, gsi3 `T#<t>#EVENTS#REMIND` (open, not reminded) / `<due-at>#<e>` |
//! | agent state | `T#<t>` | `AGENTSTATE#<u>` | |
//! | agent state change | `T#<t>#STATEHIST#<u>` | `<at>#<version>` | |
//!
//! Tenant items are addressed only through a `TenantId`. The `P#` platform
//! partition holds what must be found before a tenant is known (log-in by
//! e-mail); it stores pointers and counters, never tenant data.

mod agent_states;
mod auth;
mod bulk;
mod call_results;
mod calls;
mod clients;
mod duplicates;
mod events;
mod groups;
mod imports;
mod mail;
mod questionnaires;
mod scenarios;
mod tags;
mod telephony;
mod tenants;
mod users;
mod work_lists;

pub use agent_states::AgentStates;
pub use auth::{LoginThrottles, OneTimeToken, RefreshToken, Tokens};
pub use bulk::{BULK_QUEUE, BulkJobs};
pub use call_results::CallResults;
pub use calls::{Calls, call_id_time};
pub use clients::{CardUpdate, Clients, Journal, Lookup, Step, Walk};
pub use duplicates::{DEDUP_QUEUE, Duplicates, GroupRecord, Resolution};
pub use events::Events;
pub use groups::Groups;
pub use imports::{IMPORT_QUEUE, Imports, RejectedRow, import_source_key};
pub use mail::{Mail, SEND_QUEUE, attachment_key};
pub use questionnaires::Questionnaires;
pub use scenarios::Scenarios;
pub use tags::{TagEntry, Tags};
pub use telephony::Telephony;
pub use tenants::Tenants;
pub use users::{DirectoryEntry, Users};
pub use work_lists::{ListPosition, SavedResult, WorkLists};

use crate::StoreError;
use crate::item::{Body, Item, ItemStore, Key};
use callisto_domain::ids::TenantId;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("e-mail {0} is already registered")]
    EmailTaken(String),
    #[error("short number {0} is already taken")]
    ShortNumberTaken(String),
    #[error("the {0} was changed meanwhile; reload it and try again")]
    Stale(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the group still has {0} member(s); move them first")]
    GroupNotEmpty(usize),
    #[error("the {what} is used by scenario {scenario:?}; remove it there first")]
    InUse {
        what: &'static str,
        scenario: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A value read together with the version it had, for optimistic updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
}

/// All repositories over one item store.
#[derive(Debug, Clone)]
pub struct Repos {
    pub tenants: Tenants,
    pub users: Users,
    pub groups: Groups,
    pub tokens: Tokens,
    pub throttles: LoginThrottles,
    pub clients: Clients,
    pub imports: Imports,
    pub tags: Tags,
    pub bulk: BulkJobs,
    pub duplicates: Duplicates,
    pub calls: Calls,
    pub telephony: Telephony,
    pub call_results: CallResults,
    pub scenarios: Scenarios,
    pub questionnaires: Questionnaires,
    pub work_lists: WorkLists,
    pub events: Events,
    pub agent_states: AgentStates,
    pub mail: Mail,
}

impl Repos {
    pub fn new(items: Arc<dyn ItemStore>) -> Repos {
        Repos {
            tenants: Tenants {
                items: items.clone(),
            },
            users: Users {
                items: items.clone(),
            },
            groups: Groups {
                items: items.clone(),
            },
            tokens: Tokens {
                items: items.clone(),
            },
            throttles: LoginThrottles {
                items: items.clone(),
            },
            clients: Clients {
                items: items.clone(),
            },
            imports: Imports {
                items: items.clone(),
            },
            tags: Tags {
                items: items.clone(),
            },
            bulk: BulkJobs {
                items: items.clone(),
            },
            duplicates: Duplicates {
                items: items.clone(),
            },
            calls: Calls {
                items: items.clone(),
            },
            telephony: Telephony {
                items: items.clone(),
            },
            call_results: CallResults {
                items: items.clone(),
            },
            scenarios: Scenarios {
                items: items.clone(),
            },
            questionnaires: Questionnaires {
                items: items.clone(),
            },
            work_lists: WorkLists {
                items: items.clone(),
            },
            events: Events {
                items: items.clone(),
            },
            agent_states: AgentStates {
                items: items.clone(),
            },

            mail: Mail { items },
        }
    }
}

pub(crate) fn tenant_pk(t: &TenantId) -> String {
    format!("T#{t}")
}

pub(crate) fn tenant_key(t: &TenantId, sk: impl Into<String>) -> Key {
    Key::new(tenant_pk(t), sk)
}

pub(crate) fn encode<T: serde::Serialize>(key: Key, value: &T) -> Result<Item, StoreError> {
    Ok(Item::new(key, Body::encode(value)?))
}

/// One page of a query, each item decoded as `T`.
pub(crate) async fn listing<T: serde::de::DeserializeOwned>(
    items: &dyn ItemStore,
    q: crate::item::Query,
) -> Result<Listing<T>, RepoError> {
    let page = items.query(q).await?;
    Ok(Listing {
        items: page
            .items
            .into_iter()
            .map(Item::into_decoded)
            .collect::<Result<_, _>>()?,
        cursor: page.cursor,
    })
}

/// Writes `item` if `condition` holds; an item changed (or created) by someone
/// else meanwhile is `Stale(what)`, for the caller to reload.
pub(crate) async fn put_checked(
    items: &dyn ItemStore,
    item: Item,
    condition: crate::item::Condition,
    what: &'static str,
) -> Result<u64, RepoError> {
    match items.put(item, condition).await {
        Err(StoreError::ConditionFailed(_)) => Err(RepoError::Stale(what)),
        other => Ok(other?),
    }
}

/// The condition of a save at `version`, where 0 means "never saved": create.
pub(crate) fn at_version(version: u64) -> crate::item::Condition {
    match version {
        0 => crate::item::Condition::NotExists,
        v => crate::item::Condition::Version(v),
    }
}

pub(crate) fn versioned<T: serde::de::DeserializeOwned>(
    item: &Item,
) -> Result<Versioned<T>, StoreError> {
    Ok(Versioned {
        value: item.decode()?,
        version: item.version,
    })
}
