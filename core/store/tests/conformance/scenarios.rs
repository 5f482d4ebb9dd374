use super::{Backend, tenant};
use callisto_domain::call_result::{CallResult, ResultKind};
use callisto_domain::ids::{
    CallId, CallResultId, ClientId, QuestionId, QuestionnaireId, ScenarioId, UserId,
};
use callisto_domain::questionnaire::{
    Answer, AnswerSheet, AnswerStatus, Question, QuestionKind, Questionnaire,
};
use callisto_domain::scenario::{OfferedResult, Scenario, ScenarioDirection};
use callisto_store::Repos;
use callisto_store::repo::RepoError;
use std::collections::BTreeMap;

fn result(id: &str) -> CallResult {
    CallResult {
        id: CallResultId::parse(id).unwrap(),
        name: format!("Result {id}"),
        kind: ResultKind::Normal,
        colour: None,
        used_by: vec![],
        created_at: 1,
    }
}

fn questionnaire(id: &str) -> Questionnaire {
    Questionnaire {
        id: QuestionnaireId::parse(id).unwrap(),
        name: format!("Survey {id}"),
        questions: vec![Question {
            id: QuestionId::parse("q1").unwrap(),
            text: "Happy?".into(),
            kind: QuestionKind::SingleChoice,
            required: true,
            options: vec!["Yes".into(), "No".into()],
        }],
        used_by: vec![],
        created_at: 1,
        updated_at: 1,
    }
}

fn scenario(id: &str, results: &[&str], q: Option<&str>) -> Scenario {
    Scenario {
        id: ScenarioId::parse(id).unwrap(),
        name: format!("Scenario {id}"),
        managers: vec![UserId::parse("ann").unwrap()],
        direction: ScenarioDirection::Outgoing,
        incoming_number: None,
        script: "<p>Hello</p>".into(),
        results: results
            .iter()
            .map(|r| OfferedResult {
                result: CallResultId::parse(*r).unwrap(),
                comment: None,
            })
            .collect(),
        result_required: !results.is_empty(),
        auto_dial: false,
        questionnaire: q.map(|q| QuestionnaireId::parse(q).unwrap()),
        email_template: None,
        mail_account: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn sid(s: &str) -> ScenarioId {
    ScenarioId::parse(s).unwrap()
}

pub async fn repo_scenarios_keep_results_and_questionnaires_in_use(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let (t, other) = (tenant("scn"), tenant("scn2"));
    for id in ["agreed", "refused", "later"] {
        r.call_results.create(&t, &result(id)).await.unwrap();
    }
    r.questionnaires
        .create(&t, &questionnaire("survey"))
        .await
        .unwrap();
    let rid = |s: &str| CallResultId::parse(s).unwrap();
    let qid = QuestionnaireId::parse("survey").unwrap();

    // A scenario naming a missing result writes nothing.
    let bad = scenario("s1", &["agreed", "ghost"], None);
    assert!(matches!(
        r.call_results.get(&t, &rid("ghost")).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(matches!(
        r.scenarios.save(&t, &bad, 0).await,
        Err(RepoError::NotFound("call result"))
    ));
    assert!(r.scenarios.list(&t).await.unwrap().is_empty());
    assert!(
        r.call_results
            .get(&t, &rid("agreed"))
            .await
            .unwrap()
            .value
            .used_by
            .is_empty()
    );

    // Two scenarios share a result; each is marked on it.
    let s1 = scenario("s1", &["agreed", "refused"], Some("survey"));
    assert_eq!(r.scenarios.save(&t, &s1, 0).await.unwrap(), 1);
    let s2 = scenario("s2", &["agreed"], Some("survey"));
    assert_eq!(r.scenarios.save(&t, &s2, 0).await.unwrap(), 1);
    assert!(matches!(
        r.scenarios.save(&t, &s2, 0).await,
        Err(RepoError::Stale(_))
    ));
    let agreed = r.call_results.get(&t, &rid("agreed")).await.unwrap().value;
    assert_eq!(agreed.used_by, vec![sid("s1"), sid("s2")]);
    let got = r.scenarios.get(&t, &sid("s1")).await.unwrap();
    assert_eq!((got.value, got.version), (s1.clone(), 1));
    assert_eq!(r.scenarios.list(&t).await.unwrap().len(), 2);

    // In use: refused, naming the scenario.
    match r.call_results.delete(&t, &rid("refused")).await {
        Err(RepoError::InUse { what, scenario }) => {
            assert_eq!((what, scenario.as_str()), ("call result", "Scenario s1"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        r.questionnaires.delete(&t, &qid).await,
        Err(RepoError::InUse { .. })
    ));
    r.call_results.delete(&t, &rid("later")).await.unwrap();

    // Replacing moves the marks; a stale version is refused and changes nothing.
    let mut s1b = scenario("s1", &["agreed"], None);
    s1b.name = "Renamed".into();
    assert!(matches!(
        r.scenarios.save(&t, &s1b, 7).await,
        Err(RepoError::Stale(_))
    ));
    assert_eq!(r.scenarios.save(&t, &s1b, 1).await.unwrap(), 2);
    assert!(
        r.call_results
            .get(&t, &rid("refused"))
            .await
            .unwrap()
            .value
            .used_by
            .is_empty()
    );
    assert_eq!(
        r.questionnaires.get(&t, &qid).await.unwrap().value.used_by,
        vec![sid("s2")]
    );
    r.call_results.delete(&t, &rid("refused")).await.unwrap();

    // Deleting a scenario frees what it used.
    r.scenarios.delete(&t, &sid("s2")).await.unwrap();
    assert!(
        r.questionnaires
            .get(&t, &qid)
            .await
            .unwrap()
            .value
            .used_by
            .is_empty()
    );
    r.questionnaires.delete(&t, &qid).await.unwrap();
    assert_eq!(
        r.call_results
            .get(&t, &rid("agreed"))
            .await
            .unwrap()
            .value
            .used_by,
        vec![sid("s1")]
    );

    // Another tenant finds none of it.
    assert!(matches!(
        r.scenarios.get(&other, &sid("s1")).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(matches!(
        r.call_results.get(&other, &rid("agreed")).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(r.scenarios.list(&other).await.unwrap().is_empty());
    assert!(r.call_results.list(&other).await.unwrap().is_empty());
    assert!(matches!(
        r.scenarios
            .save(&other, &scenario("s9", &["agreed"], None), 0)
            .await,
        Err(RepoError::NotFound("call result"))
    ));
}

fn sheet(q: &str, call: u64, client: &str, status: AnswerStatus) -> AnswerSheet {
    let id = ulid::Ulid::from_parts(1_790_000_000_000 + call, u128::from(call)).to_string();
    AnswerSheet {
        questionnaire: QuestionnaireId::parse(q).unwrap(),
        call: CallId::parse(id).unwrap(),
        client: ClientId::parse(client).unwrap(),
        scenario: None,
        status,
        answers: BTreeMap::from([(QuestionId::parse("q1").unwrap(), Answer::One("Yes".into()))]),
        by: UserId::parse("ann").unwrap(),
        at: 5,
    }
}

pub async fn repo_questionnaire_answers_by_call_and_client(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("ans");
    let q = QuestionnaireId::parse("survey").unwrap();
    let mut first = sheet("survey", 1, "c1", AnswerStatus::Postponed);
    assert!(r.questionnaires.save_answers(&t, &first).await.unwrap());
    // The same call again replaces its answers.
    first.status = AnswerStatus::Complete;
    assert!(!r.questionnaires.save_answers(&t, &first).await.unwrap());
    for (n, client) in [(2, "c2"), (3, "c1")] {
        let s = sheet("survey", n, client, AnswerStatus::Refused);
        r.questionnaires.save_answers(&t, &s).await.unwrap();
    }
    r.questionnaires
        .save_answers(&t, &sheet("other", 4, "c1", AnswerStatus::Complete))
        .await
        .unwrap();

    let page = r.questionnaires.answers(&t, &q, None, 2).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0], first);
    let rest = r
        .questionnaires
        .answers(&t, &q, page.cursor, 2)
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].client.as_str(), "c1");

    let c1 = r
        .questionnaires
        .client_answers(&t, &ClientId::parse("c1").unwrap(), None, 10)
        .await
        .unwrap();
    let seen: Vec<_> = c1
        .items
        .iter()
        .map(|s| (s.questionnaire.as_str(), s.status))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("other", AnswerStatus::Complete),
            ("survey", AnswerStatus::Complete),
            ("survey", AnswerStatus::Refused),
        ]
    );
    let none = r
        .questionnaires
        .answers(&tenant("ans2"), &q, None, 10)
        .await
        .unwrap();
    assert!(none.items.is_empty());
}
