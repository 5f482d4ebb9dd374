mod agents;
mod answers;
mod auth;
mod bulk;
mod call_results;
mod calls;
mod clients;
mod company;
mod duplicates;
mod email_templates;
mod emails;
mod events;
mod export;
mod groups;
mod imports;
mod mail_accounts;
mod me;
mod questionnaires;
mod scenarios;
mod screen_pop;
mod selection;
mod tags;
mod telephony;
mod users;
mod work_lists;

use crate::AppState;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub use agents::*;
pub use answers::*;
pub use auth::*;
pub use bulk::*;
pub use call_results::*;
pub use calls::*;
pub use clients::*;
pub use company::*;
pub use duplicates::*;
pub use email_templates::*;
pub use emails::*;
pub use events::*;
pub use export::*;
pub use groups::*;
pub use imports::*;
pub use mail_accounts::*;
pub use me::*;
pub use questionnaires::*;
pub use scenarios::*;
pub use screen_pop::*;
pub use tags::*;
pub use telephony::*;
pub use users::*;
pub use work_lists::*;

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .route("/auth/signup", post(auth::signup))
        .route("/auth/confirm", post(auth::confirm))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(me::get_me).patch(me::update_me))
        .route("/me/password", post(me::change_password))
        .route(
            "/me/state",
            get(agents::get_my_state).put(agents::put_my_state),
        )
        .route("/agents/states", get(agents::list_agent_states))
        .route(
            "/agents/{id}/state-history",
            get(agents::agent_state_history),
        )
        .route("/events", get(events::calendar).post(events::create_event))
        .route(
            "/events/{id}",
            get(events::get_event)
                .patch(events::update_event)
                .delete(events::delete_event),
        )
        .route("/events/{id}/done", post(events::mark_event_done))
        .route("/clients/{id}/events", get(events::client_events))
        .route("/me/sip", get(telephony::get_my_sip))
        .route("/me/sip-password", post(telephony::reset_my_sip_password))
        .route(
            "/company",
            get(company::get_company).patch(company::update_company),
        )
        .route(
            "/company/card-settings",
            get(company::get_card_settings).put(company::put_card_settings),
        )
        .route(
            "/company/trunk",
            get(telephony::get_trunk).put(telephony::put_trunk),
        )
        .route("/users", get(users::list_users).post(users::invite_user))
        .route(
            "/users/{id}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route("/users/{id}/block", post(users::block_user))
        .route("/users/{id}/unblock", post(users::unblock_user))
        .route(
            "/users/{id}/sip-password",
            post(telephony::reset_user_sip_password),
        )
        .route(
            "/groups",
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            "/groups/{id}",
            get(groups::get_group)
                .patch(groups::update_group)
                .delete(groups::delete_group),
        )
        .route(
            "/clients",
            get(clients::list_clients).post(clients::create_client),
        )
        .route(
            "/clients/{id}",
            get(clients::get_client)
                .patch(clients::update_client)
                .delete(clients::delete_client),
        )
        .route("/clients/{id}/restore", post(clients::restore_client))
        .route("/clients/export", get(export::export_clients))
        .route("/clients/bulk", post(bulk::start_bulk))
        .route("/bulk/{id}", get(bulk::get_bulk))
        .route("/tags", get(tags::list_tags))
        .route("/tags/{tag}", axum::routing::delete(tags::delete_tag))
        .route("/clients/{id}/history", get(clients::client_history))
        .route("/clients/{id}/answers", get(answers::client_answers))
        .route("/clients/{id}/comments", post(clients::add_comment))
        .route(
            "/clients/{id}/history/{entry}",
            axum::routing::patch(clients::edit_history_entry),
        )
        .route("/clients-bin", get(clients::list_bin))
        .route("/notifications", get(clients::list_notifications))
        .route(
            "/imports",
            post(imports::upload_import).layer(axum::extract::DefaultBodyLimit::max(
                imports::MAX_UPLOAD_BYTES,
            )),
        )
        .route("/imports/{id}", get(imports::get_import))
        .route("/imports/{id}/preview", get(imports::preview_import))
        .route("/imports/{id}/confirm", post(imports::confirm_import))
        .route("/imports/{id}/rejected", get(imports::rejected_rows))
        .route("/calls", get(calls::list_calls))
        .route("/calls/{id}", get(calls::get_call))
        .route("/calls/{id}/recording", get(calls::call_recording))
        .route(
            "/call-results",
            get(call_results::list_call_results).post(call_results::create_call_result),
        )
        .route(
            "/call-results/{id}",
            axum::routing::patch(call_results::update_call_result)
                .delete(call_results::delete_call_result),
        )
        .route(
            "/scenarios",
            get(scenarios::list_scenarios).post(scenarios::create_scenario),
        )
        .route(
            "/scenarios/{id}",
            get(scenarios::get_scenario)
                .put(scenarios::put_scenario)
                .delete(scenarios::delete_scenario),
        )
        .route(
            "/work-lists",
            get(work_lists::list_work_lists).post(work_lists::create_work_list),
        )
        .route(
            "/work-lists/{id}",
            get(work_lists::get_work_list)
                .put(work_lists::put_work_list)
                .delete(work_lists::delete_work_list),
        )
        .route("/work-lists/{id}/next", post(work_lists::take_next))
        .route("/work-lists/{id}/results", post(work_lists::save_result))
        .route("/screen-pop", get(screen_pop::screen_pop))
        .route(
            "/questionnaires",
            get(questionnaires::list_questionnaires).post(questionnaires::create_questionnaire),
        )
        .route(
            "/questionnaires/{id}",
            get(questionnaires::get_questionnaire)
                .put(questionnaires::put_questionnaire)
                .delete(questionnaires::delete_questionnaire),
        )
        .route(
            "/questionnaires/{id}/answers",
            get(answers::export_answers).post(answers::save_answers),
        )
        .route(
            "/mail-accounts",
            get(mail_accounts::list_mail_accounts).post(mail_accounts::create_mail_account),
        )
        .route(
            "/mail-accounts/{id}",
            get(mail_accounts::get_mail_account)
                .put(mail_accounts::put_mail_account)
                .delete(mail_accounts::delete_mail_account),
        )
        .route(
            "/mail-accounts/{id}/test",
            post(mail_accounts::test_mail_account),
        )
        .route(
            "/me/mail-signature",
            get(mail_accounts::get_mail_signature).put(mail_accounts::put_mail_signature),
        )
        .route(
            "/email-templates",
            get(email_templates::list_email_templates).post(email_templates::create_email_template),
        )
        .route(
            "/email-templates/{id}",
            get(email_templates::get_email_template)
                .put(email_templates::put_email_template)
                .delete(email_templates::delete_email_template),
        )
        .route(
            "/email-templates/{id}/attachments",
            post(email_templates::add_attachment).layer(axum::extract::DefaultBodyLimit::max(
                callisto_domain::mail::MAX_ATTACHMENT_BYTES as usize,
            )),
        )
        .route(
            "/email-templates/{id}/attachments/{attachment}",
            get(email_templates::get_attachment).delete(email_templates::delete_attachment),
        )
        .route(
            "/clients/{id}/emails",
            get(emails::list_client_emails).post(emails::send_email),
        )
        .route("/emails/{id}", get(emails::get_email))
        .route("/duplicates", post(duplicates::start_duplicate_search))
        .route("/duplicates/{id}", get(duplicates::get_duplicate_search))
        .route(
            "/duplicates/{id}/groups",
            get(duplicates::list_duplicate_groups),
        )
        .route(
            "/duplicates/{id}/groups/{n}/merge",
            post(duplicates::merge_duplicate_group),
        )
        .route(
            "/duplicates/{id}/groups/{n}/delete",
            post(duplicates::delete_duplicate_group),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: answers without touching storage.
#[utoipa::path(get, path = "/api/health", tag = "system", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Page size bounds shared by every listing.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<usize, crate::error::ApiError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=500) => Ok(n as usize),
        Some(_) => Err(crate::error::ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "limit must be between 1 and 500",
        )
        .with_field("limit")),
    }
}
