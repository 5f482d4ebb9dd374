//! The OpenAPI document, served at `/api/openapi.json`, built from the
//! handlers' annotations so it cannot drift from the routes.

use crate::routes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Callisto API", description = "Multi-tenant cloud call center with a built-in sales CRM."),
    modifiers(&BearerAuth),
    paths(
        routes::health,
        routes::signup, routes::confirm, routes::login, routes::refresh, routes::logout,
        routes::get_me, routes::update_me, routes::change_password,
        routes::get_company, routes::update_company, routes::get_card_settings, routes::put_card_settings,
        routes::list_users, routes::invite_user, routes::get_user, routes::update_user,
        routes::block_user, routes::unblock_user, routes::delete_user,
        routes::list_groups, routes::create_group, routes::get_group, routes::update_group, routes::delete_group,
        routes::create_client, routes::get_client, routes::update_client, routes::list_clients,
        routes::delete_client, routes::restore_client, routes::list_bin,
        routes::client_history, routes::add_comment, routes::edit_history_entry, routes::list_notifications,
        routes::export_clients, routes::start_bulk, routes::get_bulk, routes::list_tags, routes::delete_tag,
        routes::upload_import, routes::preview_import, routes::confirm_import, routes::get_import, routes::rejected_rows,
        routes::start_duplicate_search, routes::get_duplicate_search, routes::list_duplicate_groups,
        routes::merge_duplicate_group, routes::delete_duplicate_group,
        routes::get_trunk, routes::put_trunk, routes::get_my_sip, routes::reset_my_sip_password,
        routes::reset_user_sip_password,
        routes::list_calls, routes::get_call, routes::call_recording,
        routes::list_call_results, routes::create_call_result, routes::update_call_result, routes::delete_call_result,
        routes::list_scenarios, routes::create_scenario, routes::get_scenario, routes::put_scenario, routes::delete_scenario,
        routes::list_questionnaires, routes::create_questionnaire, routes::get_questionnaire, routes::put_questionnaire,
        routes::delete_questionnaire, routes::save_answers, routes::export_answers, routes::client_answers,
        routes::list_work_lists, routes::create_work_list, routes::get_work_list, routes::put_work_list,
        routes::delete_work_list, routes::take_next, routes::save_result, routes::screen_pop,
        routes::create_event, routes::get_event, routes::update_event, routes::mark_event_done,
        routes::delete_event, routes::calendar, routes::client_events,
        routes::get_my_state, routes::put_my_state, routes::list_agent_states, routes::agent_state_history,
        routes::list_mail_accounts, routes::create_mail_account, routes::get_mail_account, routes::put_mail_account,
        routes::delete_mail_account, routes::test_mail_account, routes::get_mail_signature, routes::put_mail_signature,
        routes::list_email_templates, routes::create_email_template, routes::get_email_template,
        routes::put_email_template, routes::delete_email_template,
        routes::add_attachment, routes::get_attachment, routes::delete_attachment,
        routes::send_email, routes::get_email, routes::list_client_emails,
    )
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
