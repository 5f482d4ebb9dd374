//! Duplicates (PRODUCT C9): start a search (a queued job), follow its
//! progress, page through the groups it found, and merge or delete a group's
//! cards. Only cards the caller sees are shown or touched; a group whose cards
//! changed since the search is refused with 409 naming the card.

use super::auth::new_id;
use super::clients::{ClientView, PhoneView};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiQuery};
use crate::views::Paged;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use callisto_domain::access::Role;
use callisto_domain::activity::{Activity, ActivityKind, Notification};
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::duplicates::{
    DedupId, DedupJob, DedupStatus, MatchBy, Objects, SearchScope, SearchSettings, Searcher,
    plan_merge, still_matches,
};
use callisto_domain::ids::{ActivityId, ClientId, UserId};
use callisto_domain::import::may_pair;
use callisto_domain::phone::format_phone;
use callisto_store::repo::{DEDUP_QUEUE, GroupRecord, Journal, RepoError, Resolution};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};

fn name<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DedupView {
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub by_phone: bool,
    pub by_email: bool,
    /// `contacts`, `organizations` or `both`.
    pub objects: String,
    /// `account`, `own` or `users`.
    pub scope: String,
    pub users: Vec<String>,
    pub cards_scanned: u64,
    pub groups_found: u64,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl From<&DedupJob> for DedupView {
    fn from(j: &DedupJob) -> DedupView {
        let (scope, users) = match &j.settings.scope {
            SearchScope::Account => ("account", vec![]),
            SearchScope::Own => ("own", vec![]),
            SearchScope::Users(u) => ("users", u.iter().map(ToString::to_string).collect()),
        };
        DedupView {
            id: j.id.to_string(),
            status: name(j.status),
            by_phone: j.settings.by_phone,
            by_email: j.settings.by_email,
            objects: name(j.settings.objects),
            scope: scope.into(),
            users,
            cards_scanned: j.cards_scanned,
            groups_found: j.groups_found,
            error: j.error.clone(),
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartDuplicateSearch {
    /// Match by phone (default true).
    pub by_phone: Option<bool>,
    /// Match by e-mail (default true).
    pub by_email: Option<bool>,
    /// `contacts`, `organizations` or `both` (default).
    #[schema(value_type = Option<String>)]
    pub objects: Option<Objects>,
    /// `account` (default for those who see more than their own cards), `own`
    /// (default and only choice for a manager) or `users`.
    pub scope: Option<String>,
    /// With `scope: users`: whose cards to search.
    pub users: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/api/duplicates", tag = "duplicates", security(("bearer" = [])), request_body = StartDuplicateSearch,
    responses((status = 202, body = DedupView), (status = 422, body = ErrorBody)))]
pub async fn start_duplicate_search(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<StartDuplicateSearch>,
) -> Result<(StatusCode, Json<DedupView>), ApiError> {
    let own_only = matches!(
        caller.principal.scope(),
        callisto_domain::access::Scope::Own(_)
    );
    let scope = match (req.scope.as_deref(), &req.users) {
        (Some("users"), Some(users)) => SearchScope::Users(
            users
                .iter()
                .map(|u| UserId::parse(u.as_str()))
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::invalid("users", e.to_string()))?,
        ),
        (Some("users"), None) => return Err(ApiError::invalid("users", "choose the users")),
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "users",
                "users go with \"scope\": \"users\"",
            ));
        }
        (Some("account"), None) => SearchScope::Account,
        (Some("own"), None) => SearchScope::Own,
        (None, None) if own_only => SearchScope::Own,
        (None, None) => SearchScope::Account,
        (Some(other), None) => {
            return Err(ApiError::invalid(
                "scope",
                format!("{other:?}: use account, own or users"),
            ));
        }
    };
    let settings = SearchSettings {
        by_phone: req.by_phone.unwrap_or(true),
        by_email: req.by_email.unwrap_or(true),
        objects: req.objects.unwrap_or(Objects::Both),
        scope,
    };
    let sources = settings.sources(&caller.principal)?;
    let job = DedupJob {
        id: DedupId::parse(new_id()).map_err(ApiError::internal)?,
        created_by: caller.user.id.clone(),
        searcher: Searcher::of(&caller.principal),
        settings,
        sources,
        status: DedupStatus::Queued,
        cards_scanned: 0,
        groups_found: 0,
        error: None,
        created_at: state.clock.now_ms(),
        started_at: None,
        finished_at: None,
    };
    let t = &caller.principal.tenant;
    state.repos.duplicates.create(t, &job).await?;
    // Saved first, then queued: a lost message leaves a visibly queued search.
    state
        .stores
        .queue
        .send(DEDUP_QUEUE, t, job.id.as_str())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(DedupView::from(&job))))
}

/// The search, if the caller may see it (its author or an administrator).
async fn search(state: &AppState, caller: &Caller, id: &str) -> Result<DedupJob, ApiError> {
    let id = DedupId::parse(id).map_err(|_| ApiError::not_found("duplicate search"))?;
    let v = match state
        .repos
        .duplicates
        .get(&caller.principal.tenant, &id)
        .await
    {
        Ok(v) => v,
        Err(RepoError::NotFound(_)) => return Err(ApiError::not_found("duplicate search")),
        Err(e) => return Err(e.into()),
    };
    if v.value.created_by != caller.user.id && caller.principal.role != Role::Administrator {
        return Err(ApiError::not_found("duplicate search"));
    }
    Ok(v.value)
}

#[utoipa::path(get, path = "/api/duplicates/{id}", tag = "duplicates", security(("bearer" = [])),
    responses((status = 200, body = DedupView), (status = 404, body = ErrorBody)))]
pub async fn get_duplicate_search(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DedupView>, ApiError> {
    Ok(Json(DedupView::from(&search(&state, &caller, &id).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateMember {
    pub id: String,
    /// `organization` or `contact`.
    pub kind: String,
    pub name: String,
    pub organization: Option<NamedRef>,
    pub phones: Vec<PhoneView>,
    pub emails: Vec<String>,
    pub responsible: NamedRef,
    pub updated_at: i64,
    /// The card was deleted or no longer has the value since the search.
    pub changed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateGroupView {
    /// The group's number in this search (used in the merge and delete paths).
    pub n: u32,
    /// `phone` or `email`.
    pub by: String,
    /// The shared value (E.164 or e-mail), to highlight.
    pub value: String,
    /// The value for people (a phone formatted).
    pub display: String,
    /// `organization` or `contact`.
    pub kind: String,
    /// Cards sharing the value when the search ran (may exceed `members`).
    pub total: usize,
    pub resolved: bool,
    /// The cards of the group the caller sees, oldest first: the first is the suggested base.
    pub members: Vec<DuplicateMember>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DuplicateGroupParams {
    pub cursor: Option<String>,
    /// 1-100, default 20.
    pub limit: Option<u32>,
}

/// Names looked up once per request.
#[derive(Default)]
struct Names {
    users: HashMap<UserId, String>,
    orgs: HashMap<ClientId, String>,
}

impl Names {
    async fn user(&mut self, state: &AppState, caller: &Caller, id: &UserId) -> String {
        if let Some(n) = self.users.get(id) {
            return n.clone();
        }
        let n = match state.repos.users.get(&caller.principal.tenant, id).await {
            Ok(u) => u.value.full_name,
            Err(_) => String::new(),
        };
        self.users.insert(id.clone(), n.clone());
        n
    }

    async fn org(&mut self, state: &AppState, caller: &Caller, id: &ClientId) -> String {
        if let Some(n) = self.orgs.get(id) {
            return n.clone();
        }
        let n = match state.repos.clients.get(&caller.principal.tenant, id).await {
            Ok(c) if caller.principal.sees(c.value.ownership()) => c.value.name,
            _ => String::new(),
        };
        self.orgs.insert(id.clone(), n.clone());
        n
    }
}

async fn group_view(
    state: &AppState,
    caller: &Caller,
    names: &mut Names,
    g: &GroupRecord,
) -> Result<DuplicateGroupView, ApiError> {
    let mut members = Vec::new();
    for id in &g.group.members {
        let card = match state.repos.clients.get(&caller.principal.tenant, id).await {
            Ok(c) => c.value,
            Err(RepoError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if !caller.principal.sees(card.ownership()) {
            continue;
        }
        let organization = match &card.organization {
            Some(o) => Some(NamedRef {
                id: o.to_string(),
                name: names.org(state, caller, o).await,
            }),
            None => None,
        };
        members.push(DuplicateMember {
            id: card.id.to_string(),
            kind: name(card.kind),
            name: card.name.clone(),
            organization,
            phones: card
                .phones
                .iter()
                .map(|p| PhoneView {
                    e164: p.clone(),
                    display: format_phone(p),
                })
                .collect(),
            emails: card.emails.clone(),
            responsible: NamedRef {
                id: card.responsible.to_string(),
                name: names.user(state, caller, &card.responsible).await,
            },
            updated_at: card.updated_at,
            changed: card.is_deleted() || !still_matches(&card, g.group.by, &g.group.value),
        });
    }
    Ok(DuplicateGroupView {
        n: g.n,
        by: name(g.group.by),
        value: g.group.value.clone(),
        display: match g.group.by {
            MatchBy::Phone => format_phone(&g.group.value),
            MatchBy::Email => g.group.value.clone(),
        },
        kind: name(g.group.kind),
        total: g.group.total,
        resolved: g.resolved,
        members,
    })
}

#[utoipa::path(get, path = "/api/duplicates/{id}/groups", tag = "duplicates", security(("bearer" = [])), params(DuplicateGroupParams),
    responses((status = 200, body = Paged<DuplicateGroupView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn list_duplicate_groups(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<DuplicateGroupParams>,
) -> Result<Json<Paged<DuplicateGroupView>>, ApiError> {
    let job = search(&state, &caller, &id).await?;
    let limit = match p.limit {
        None => 20,
        Some(n @ 1..=100) => n as usize,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "limit must be between 1 and 100",
            )
            .with_field("limit"));
        }
    };
    if job.status != DedupStatus::Done {
        return Err(not_done(&job));
    }
    let page = state
        .repos
        .duplicates
        .groups(&caller.principal.tenant, &job.id, p.cursor, limit)
        .await?;
    let mut names = Names::default();
    let mut items = Vec::new();
    for g in &page.items {
        items.push(group_view(&state, &caller, &mut names, g).await?);
    }
    Ok(Json(Paged {
        items,
        cursor: page.cursor,
    }))
}

fn not_done(job: &DedupJob) -> ApiError {
    ApiError::conflict(
        "search_not_done",
        format!(
            "the search is {}; groups are ready when it is done",
            name(job.status)
        ),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeDuplicates {
    /// The card that stays; its fields win, its empty fields are filled.
    pub base: String,
    /// The cards to merge into the base (default: every other card of the group).
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteDuplicates {
    /// The card that stays.
    pub keep: String,
    /// The cards to delete (default: every other card of the group).
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicatesResolved {
    /// The card that stayed, as it is now.
    pub base: ClientView,
    /// Cards merged into the base or deleted; they are in the recycle bin.
    pub removed: Vec<String>,
    /// Contacts moved from removed organizations to the base organization.
    pub moved_contacts: Vec<String>,
    /// Phones, e-mails, tags and custom fields that did not fit the base's limits.
    pub dropped: Vec<String>,
}

/// A group checked against the cards as they are now.
struct Checked {
    job: DedupJob,
    group: GroupRecord,
    group_version: u64,
    base: (Client, u64),
    others: Vec<(Client, u64)>,
}

fn parse_in_group(field: &'static str, raw: &str, g: &GroupRecord) -> Result<ClientId, ApiError> {
    let id = ClientId::parse(raw)
        .map_err(|_| ApiError::invalid(field, format!("{raw:?} is not a card id")))?;
    if !g.group.members.contains(&id) {
        return Err(ApiError::invalid(
            field,
            format!("card {raw} is not in group {}", g.n),
        ));
    }
    Ok(id)
}

/// The card as it is now, if the caller sees it and it still belongs in the group.
async fn current(
    state: &AppState,
    caller: &Caller,
    g: &GroupRecord,
    id: &ClientId,
) -> Result<(Client, u64), ApiError> {
    let card = match state.repos.clients.get(&caller.principal.tenant, id).await {
        Ok(c) => c,
        Err(RepoError::NotFound(_)) => {
            return Err(ApiError::conflict(
                "group_changed",
                format!("card {id} no longer exists; run the search again"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if !caller.principal.sees(card.value.ownership()) {
        return Err(ApiError::not_found("client"));
    }
    let c = &card.value;
    if c.is_deleted() {
        return Err(ApiError::conflict(
            "group_changed",
            format!(
                "card «{}» ({id}) was deleted since the search; run the search again",
                c.name
            ),
        ));
    }
    if !still_matches(c, g.group.by, &g.group.value) {
        return Err(ApiError::conflict(
            "group_changed",
            format!(
                "card «{}» ({id}) no longer has {}; run the search again",
                c.name, g.group.value
            ),
        ));
    }
    Ok((card.value, card.version))
}

async fn check(
    state: &AppState,
    caller: &Caller,
    id: &str,
    n: &str,
    base_field: &'static str,
    base: &str,
    members: Option<&[String]>,
) -> Result<Checked, ApiError> {
    let job = search(state, caller, id).await?;
    if job.status != DedupStatus::Done {
        return Err(not_done(&job));
    }
    let n: u32 = n.parse().map_err(|_| ApiError::not_found("group"))?;
    let stored = match state
        .repos
        .duplicates
        .group(&caller.principal.tenant, &job.id, n)
        .await
    {
        Ok(g) => g,
        Err(RepoError::NotFound(_)) => return Err(ApiError::not_found("group")),
        Err(e) => return Err(e.into()),
    };
    let g = stored.value;
    if g.resolved {
        return Err(ApiError::conflict(
            "group_resolved",
            format!("group {n} was already merged or deleted"),
        ));
    }
    let base_id = parse_in_group(base_field, base, &g)?;
    let others: Vec<ClientId> = match members {
        None => g
            .group
            .members
            .iter()
            .filter(|m| **m != base_id)
            .cloned()
            .collect(),
        Some(list) => {
            let mut out: Vec<ClientId> = Vec::new();
            for raw in list {
                let id = parse_in_group("members", raw, &g)?;
                if id == base_id {
                    return Err(ApiError::invalid(
                        "members",
                        format!("card {raw} is the {base_field} card"),
                    ));
                }
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            out
        }
    };
    if others.is_empty() {
        return Err(ApiError::invalid(
            "members",
            "choose at least one other card",
        ));
    }
    let base = current(state, caller, &g, &base_id).await?;
    let mut loaded = Vec::new();
    for id in &others {
        let card = current(state, caller, &g, id).await?;
        if !may_pair(&base.0, &card.0) {
            return Err(ApiError::invalid(
                "members",
                format!(
                    "card {id} and the {base_field} card both belong to organizations: \
                     contacts of organizations are not duplicates of each other"
                ),
            ));
        }
        // Contacts of a removed organization move to the base: the caller must see them.
        if card.0.kind == ClientKind::Organization {
            let t = &caller.principal.tenant;
            for contact in state.repos.clients.contacts_of(t, id).await? {
                if !caller.principal.sees(contact.ownership()) {
                    return Err(ApiError::forbidden(format!(
                        "organization «{}» ({id}) has contacts of other users; \
                         an administrator or their manager can merge it",
                        card.0.name
                    )));
                }
            }
        }
        loaded.push(card);
    }
    Ok(Checked {
        job,
        group: g,
        group_version: stored.version,
        base,
        others: loaded,
    })
}

/// History entries and notifications of one resolution: each responsible
/// user other than the caller is told once.
struct Journals<'a> {
    caller: &'a Caller,
    now: i64,
    notified: HashSet<UserId>,
}

impl Journals<'_> {
    fn activity(
        &self,
        card: &Client,
        kind: ActivityKind,
        text: String,
        details: BTreeMap<String, String>,
    ) -> Result<Activity, ApiError> {
        let id = ActivityId::parse(new_id()).map_err(ApiError::internal)?;
        Ok(self.activity_with_id(id, card, kind, text, details))
    }

    fn activity_with_id(
        &self,
        id: ActivityId,
        card: &Client,
        kind: ActivityKind,
        text: String,
        details: BTreeMap<String, String>,
    ) -> Activity {
        Activity {
            id,
            client: card.id.clone(),
            at: self.now,
            by: self.caller.user.id.clone(),
            kind,
            text,
            details,
            edited: None,
        }
    }

    fn notify(&mut self, card: &Client, text: String) -> Result<Vec<Notification>, ApiError> {
        let user = &card.responsible;
        if *user == self.caller.user.id || !self.notified.insert(user.clone()) {
            return Ok(vec![]);
        }
        Ok(vec![Notification {
            id: ActivityId::parse(new_id()).map_err(ApiError::internal)?,
            user: user.clone(),
            at: self.now,
            text,
            client: Some(card.id.clone()),
        }])
    }
}

/// Moves contacts of the removed organizations to the base organization.
async fn move_contacts(
    state: &AppState,
    journals: &mut Journals<'_>,
    base: &Client,
    removed: &[(Client, u64)],
) -> Result<Vec<String>, ApiError> {
    let t = &journals.caller.principal.tenant;
    let mut moved = Vec::new();
    if base.kind != ClientKind::Organization {
        return Ok(moved);
    }
    for (org, _) in removed {
        for contact in state.repos.clients.contacts_of(t, &org.id).await? {
            // Re-read for the version; retry if the contact changes meanwhile.
            for attempt in 0.. {
                let v = state.repos.clients.get(t, &contact.id).await?;
                if v.value.organization.as_ref() != Some(&org.id) || v.value.is_deleted() {
                    break;
                }
                let plan = plan_merge(
                    base,
                    std::slice::from_ref(org),
                    std::slice::from_ref(&v.value),
                    journals.now,
                )
                .map_err(ApiError::internal)?;
                let Some(new) = plan.moved.into_iter().next() else {
                    break;
                };
                let text = format!("moved from «{}» to «{}»", org.name, base.name);
                let journal = Journal {
                    activities: vec![journals.activity(
                        &new,
                        ActivityKind::Updated,
                        text.clone(),
                        BTreeMap::from([("fields".to_string(), "organization".to_string())]),
                    )?],
                    notifications: journals.notify(
                        &new,
                        format!(
                            "{}: your contact «{}» {text}",
                            journals.caller.user.full_name, new.name
                        ),
                    )?,
                };
                match state
                    .repos
                    .clients
                    .update(t, &v.value, &new, v.version, &journal)
                    .await
                {
                    Ok(_) => {
                        moved.push(new.id.to_string());
                        break;
                    }
                    Err(RepoError::Stale(_)) if attempt < 3 => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(moved)
}

/// Moves a card to the recycle bin (restorable for 30 days) with its history entry.
async fn to_bin(
    state: &AppState,
    journals: &mut Journals<'_>,
    card: &(Client, u64),
    text: String,
    details: BTreeMap<String, String>,
    note: String,
) -> Result<(), ApiError> {
    let t = &journals.caller.principal.tenant;
    let (mut old, mut version) = card.clone();
    for attempt in 0.. {
        let new = Client {
            deleted_at: Some(journals.now),
            deleted_by: Some(journals.caller.user.id.clone()),
            updated_at: journals.now,
            ..old.clone()
        };
        let journal = Journal {
            activities: vec![journals.activity(
                &new,
                ActivityKind::Deleted,
                text.clone(),
                details.clone(),
            )?],
            notifications: journals.notify(&new, note.clone())?,
        };
        match state
            .repos
            .clients
            .update(t, &old, &new, version, &journal)
            .await
        {
            Ok(_) => return Ok(()),
            // Edited this instant: the decision stands; delete the card as it is now.
            Err(RepoError::Stale(_)) if attempt < 3 => {
                let v = state.repos.clients.get(t, &old.id).await?;
                if v.value.is_deleted() {
                    return Ok(());
                }
                (old, version) = (v.value, v.version);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Records what was done on the group; the group is resolved when fewer than two cards remain.
async fn settle(
    state: &AppState,
    caller: &Caller,
    c: &Checked,
    action: &str,
    now: i64,
) -> Result<(), ApiError> {
    let t = &caller.principal.tenant;
    let removed: Vec<ClientId> = c.others.iter().map(|(o, _)| o.id.clone()).collect();
    let (mut g, mut version) = (c.group.clone(), c.group_version);
    for attempt in 0.. {
        g.group.members.retain(|m| !removed.contains(m));
        g.resolutions.push(Resolution {
            action: action.into(),
            base: c.base.0.id.clone(),
            cards: removed.clone(),
            by: caller.user.id.clone(),
            at: now,
        });
        g.resolved = g.group.members.len() < 2;
        match state
            .repos
            .duplicates
            .save_group(t, &c.job.id, &g, version)
            .await
        {
            Ok(_) => return Ok(()),
            Err(RepoError::Stale(_)) if attempt < 3 => {
                let v = state.repos.duplicates.group(t, &c.job.id, g.n).await?;
                (g, version) = (v.value, v.version);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn ids(cards: &[(Client, u64)]) -> String {
    cards
        .iter()
        .map(|(c, _)| c.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[utoipa::path(post, path = "/api/duplicates/{id}/groups/{n}/merge", tag = "duplicates", security(("bearer" = [])), request_body = MergeDuplicates,
    responses((status = 200, body = DuplicatesResolved), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn merge_duplicate_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    ApiJson(req): ApiJson<MergeDuplicates>,
) -> Result<Json<DuplicatesResolved>, ApiError> {
    let c = check(
        &state,
        &caller,
        &id,
        &n,
        "base",
        &req.base,
        req.members.as_deref(),
    )
    .await?;
    let t = &caller.principal.tenant;
    let now = state.clock.now_ms();
    let (base, base_version) = &c.base;
    let duplicates: Vec<Client> = c.others.iter().map(|(d, _)| d.clone()).collect();
    let plan = plan_merge(base, &duplicates, &[], now).map_err(ApiError::internal)?;
    let mut journals = Journals {
        caller: &caller,
        now,
        notified: HashSet::new(),
    };
    let count = duplicates.len();
    let summary = format!("merged {count} duplicate(s) by {}", c.group.group.value);
    // The merge's entry on the base is named after the search and the group:
    // a merge interrupted after the base was written and then run again
    // finds it and does not write (or announce) the merge twice.
    let entry = ActivityId::parse(format!("dedup-{}-{}", c.job.id, c.group.n))
        .map_err(ApiError::internal)?;
    let base_done = match state.repos.clients.history_entry(t, &base.id, &entry).await {
        Ok(_) => true,
        Err(RepoError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if !base_done {
        // The base first, conditional on the version checked: if it changed, nothing is done.
        let journal = Journal {
            activities: vec![journals.activity_with_id(
                entry,
                &plan.merged,
                ActivityKind::Updated,
                summary.clone(),
                BTreeMap::from([
                    ("merged".to_string(), ids(&c.others)),
                    ("by".to_string(), c.group.group.value.clone()),
                ]),
            )],
            notifications: journals.notify(
                &plan.merged,
                format!(
                    "{} {summary} into your card «{}»",
                    caller.user.full_name, plan.merged.name
                ),
            )?,
        };
        match state
            .repos
            .clients
            .update(t, base, &plan.merged, *base_version, &journal)
            .await
        {
            Err(RepoError::Stale(_)) => {
                return Err(ApiError::conflict(
                    "group_changed",
                    format!(
                        "card «{}» ({}) was changed meanwhile; reload the group",
                        base.name, base.id
                    ),
                ));
            }
            other => other?,
        };
    }
    for (d, _) in &c.others {
        state.repos.clients.copy_history(t, &d.id, &base.id).await?;
    }
    let moved_contacts = move_contacts(&state, &mut journals, &plan.merged, &c.others).await?;
    for d in &c.others {
        to_bin(
            &state,
            &mut journals,
            d,
            format!("merged into «{}»", base.name),
            BTreeMap::from([("merged_into".to_string(), base.id.to_string())]),
            format!(
                "{} merged your card «{}» into «{}»",
                caller.user.full_name, d.0.name, base.name
            ),
        )
        .await?;
    }
    settle(&state, &caller, &c, "merged", now).await?;
    Ok(Json(DuplicatesResolved {
        base: ClientView::from(&plan.merged),
        removed: c.others.iter().map(|(d, _)| d.id.to_string()).collect(),
        moved_contacts,
        dropped: plan.dropped,
    }))
}

#[utoipa::path(post, path = "/api/duplicates/{id}/groups/{n}/delete", tag = "duplicates", security(("bearer" = [])), request_body = DeleteDuplicates,
    responses((status = 200, body = DuplicatesResolved), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete_duplicate_group(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
    ApiJson(req): ApiJson<DeleteDuplicates>,
) -> Result<Json<DuplicatesResolved>, ApiError> {
    let c = check(
        &state,
        &caller,
        &id,
        &n,
        "keep",
        &req.keep,
        req.members.as_deref(),
    )
    .await?;
    let now = state.clock.now_ms();
    let base = &c.base.0;
    let mut journals = Journals {
        caller: &caller,
        now,
        notified: HashSet::new(),
    };
    // Contacts are not lost with a deleted organization: they move to the kept one.
    let moved_contacts = move_contacts(&state, &mut journals, base, &c.others).await?;
    for d in &c.others {
        to_bin(
            &state,
            &mut journals,
            d,
            format!("deleted as a duplicate of «{}»", base.name),
            BTreeMap::from([("duplicate_of".to_string(), base.id.to_string())]),
            format!(
                "{} deleted your card «{}» as a duplicate of «{}»",
                caller.user.full_name, d.0.name, base.name
            ),
        )
        .await?;
    }
    settle(&state, &caller, &c, "deleted", now).await?;
    Ok(Json(DuplicatesResolved {
        base: ClientView::from(base),
        removed: c.others.iter().map(|(d, _)| d.id.to_string()).collect(),
        moved_contacts,
        dropped: vec![],
    }))
}
