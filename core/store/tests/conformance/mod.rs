//! The one conformance suite every storage backend passes. Each case is an
//! async fn over a [`Backend`]; `conformance_cases!` turns the list into one
//! `#[tokio::test]` per case in each backend's test file.

#![allow(dead_code, clippy::unwrap_used)]

mod blobs;
mod calls;
mod clients;
mod events;
mod items;
mod queue;
mod repos;
mod scenarios;
mod work_lists;

pub use blobs::*;
pub use calls::*;
pub use clients::*;
pub use events::*;
pub use items::*;
pub use queue::*;
pub use repos::*;
pub use scenarios::*;
pub use work_lists::*;

use callisto_domain::ids::TenantId;
use callisto_store::Stores;
use std::future::Future;
use std::pin::Pin;

/// A backend under test. `open` connects to the same persistent state each
/// time; dropping the returned `Stores` is how a case simulates a crash.
pub trait Backend {
    fn open(&self) -> Pin<Box<dyn Future<Output = Stores> + '_>>;
}

pub fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

#[macro_export]
macro_rules! conformance_cases {
    ($backend:path) => {
        $crate::conformance_cases!(@each $backend;
            item_crud_and_versions,
            item_conditional_writes_change_nothing,
            transaction_all_or_nothing,
            transaction_rejects_invalid_requests,
            index_follows_item_writes,
            query_paging_and_ranges,
            batch_write_puts_and_deletes_in_bulk,
            batch_write_refuses_conditions_and_writes_nothing,
            batch_written_in_parts_lands_whole_or_not_at_all,
            reads_in_bulk_answer_in_the_order_asked,
            blob_put_get_list_delete,
            blob_download_to_a_file,
            queue_visibility_and_redelivery,
            queue_redelivers_after_crash,
            tenant_isolation,
            repo_signup_and_unique_claims,
            repo_user_updates_move_claims,
            repo_tokens_are_single_use,
            repo_groups_and_members,
            repo_clients_lookups_scopes_and_bin,
            repo_client_history_and_notifications,
            repo_duplicate_searches_and_groups,
            repo_clients_created_in_bulk_have_their_lookups_and_history,
            repo_clients_updated_together_land_apart_from_a_changed_one,
            repo_call_records_by_month_agent_and_client,
            repo_call_records_written_together_each_get_their_own_answer,
            repo_trunk_settings_status_and_sip_credentials,
            repo_scenarios_keep_results_and_questionnaires_in_use,
            repo_questionnaire_answers_by_call_and_client,
            repo_work_list_claims_and_saved_results,
            repo_events_by_card_calendar_and_reminder_index,
            repo_agent_states_and_history,
        );
    };
    (@each $backend:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let backend = $backend().await;
                conformance::$case(&backend).await;
            }
        )*
    };
}
