use super::{Backend, tenant};
use callisto_domain::access::Role;
use callisto_domain::ids::{GroupId, TenantId, UserId};
use callisto_domain::user::{BillingDetails, Group, Tenant, User, UserStatus};
use callisto_store::Repos;
use callisto_store::blob::BlobKey;
use callisto_store::item::{Query, SortKey};
use callisto_store::repo::{OneTimeToken, RefreshToken, RepoError};
use std::time::Duration;

fn user(t: &TenantId, id: &str, email: &str, ext: Option<&str>) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        tenant: t.clone(),
        email: email.into(),
        full_name: format!("User {id}"),
        role: Role::Manager,
        group: None,
        short_number: ext.map(Into::into),
        status: UserStatus::Active,
        time_zone: None,
        support_email: None,
        support_phone: None,
        password_hash: "x".into(),
        email_confirmed: true,
        must_change_password: false,
        created_at: 1,
    }
}

fn company(t: &TenantId) -> Tenant {
    Tenant {
        id: t.clone(),
        name: format!("Company {t}"),
        promo_code: None,
        billing: BillingDetails::default(),
        phone_region: callisto_domain::user::default_phone_region(),
        created_at: 1,
        wrap_up_ms: None,
    }
}

async fn signup(r: &Repos, t: &TenantId, email: &str) -> User {
    let mut admin = user(t, &format!("{t}-admin"), email, Some("100"));
    admin.role = Role::Administrator;
    r.tenants
        .create_with_admin(&company(t), &admin)
        .await
        .unwrap();
    admin
}

pub async fn tenant_isolation(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    // "a" is a prefix of "ab": keys must not leak across such tenants either.
    let (a, ab) = (tenant("a"), tenant("ab"));
    let admin_a = signup(&r, &a, "boss@a.ru").await;
    let admin_ab = signup(&r, &ab, "boss@ab.ru").await;
    r.users
        .create(&user(&a, "ua1", "m1@a.ru", Some("101")))
        .await
        .unwrap();
    r.users
        .create(&user(&ab, "uab1", "m1@ab.ru", Some("101")))
        .await
        .unwrap();

    let list_a = r.users.list(&a, None, 100).await.unwrap();
    let ids: Vec<_> = list_a.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a-admin", "ua1"]);
    assert!(list_a.items.iter().all(|u| u.tenant == a));
    // Another tenant's user id, asked for under this tenant, does not exist.
    assert!(matches!(
        r.users.get(&a, &admin_ab.id).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(matches!(
        r.users.get(&ab, &admin_a.id).await,
        Err(RepoError::NotFound(_))
    ));
    assert_eq!(r.tenants.get(&a).await.unwrap().value.name, "Company a");
    // Raw partition query of tenant a holds nothing of tenant ab.
    let raw = s
        .items
        .query(Query::table("T#a", SortKey::All).limit(1000))
        .await
        .unwrap();
    assert!(raw.items.iter().all(|i| i.key.pk == "T#a"));
    assert!(
        raw.items
            .iter()
            .all(|i| !i.body.to_string().contains("ab.ru"))
    );

    s.blobs
        .put(
            &BlobKey::new(&a, "f.txt").unwrap(),
            b"a".to_vec(),
            "text/plain",
        )
        .await
        .unwrap();
    s.blobs
        .put(
            &BlobKey::new(&ab, "f.txt").unwrap(),
            b"ab".to_vec(),
            "text/plain",
        )
        .await
        .unwrap();
    assert_eq!(
        s.blobs.list(&a, "").await.unwrap(),
        vec![BlobKey::new(&a, "f.txt").unwrap()]
    );
    assert_eq!(
        s.blobs
            .get(&BlobKey::new(&a, "f.txt").unwrap())
            .await
            .unwrap()
            .unwrap()
            .data,
        b"a"
    );

    s.queue.send("iso", &ab, "for ab").await.unwrap();
    let d = s
        .queue
        .receive("iso", 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].tenant, ab);
}

pub async fn repo_signup_and_unique_claims(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t1 = tenant("acme");
    let admin = signup(&r, &t1, "owner@acme.ru").await;
    let entry = r.users.find_login("owner@acme.ru").await.unwrap().unwrap();
    assert_eq!((entry.tenant, entry.user), (t1.clone(), admin.id.clone()));

    // The same e-mail cannot sign up a second company; nothing of it is written.
    let t2 = tenant("copycat");
    let mut other = user(&t2, "x", "owner@acme.ru", None);
    other.role = Role::Administrator;
    let r2 = r.tenants.create_with_admin(&company(&t2), &other).await;
    assert!(
        matches!(r2, Err(RepoError::EmailTaken(ref e)) if e == "owner@acme.ru"),
        "{r2:?}"
    );
    assert!(matches!(
        r.tenants.get(&t2).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(matches!(
        r.users.get(&t2, &other.id).await,
        Err(RepoError::NotFound(_))
    ));

    // Short numbers are unique per tenant, and only per tenant.
    let dup_ext = r
        .users
        .create(&user(&t1, "u2", "u2@acme.ru", Some("100")))
        .await;
    assert!(
        matches!(dup_ext, Err(RepoError::ShortNumberTaken(ref n)) if n == "100"),
        "{dup_ext:?}"
    );
    assert!(
        r.users.find_login("u2@acme.ru").await.unwrap().is_none(),
        "failed invite left its e-mail claimed"
    );
    let t3 = tenant("globex");
    signup(&r, &t3, "owner@globex.ru").await; // also extension 100
    let dup_mail = r
        .users
        .create(&user(&t1, "u3", "owner@globex.ru", Some("103")))
        .await;
    assert!(
        matches!(dup_mail, Err(RepoError::EmailTaken(_))),
        "{dup_mail:?}"
    );
    // Only companies that were created are in the registry scheduled jobs walk.
    let registered = r.tenants.list_ids(None, 100).await.unwrap().items;
    assert_eq!(registered, vec![t1.clone(), t3.clone()]);
}

pub async fn repo_user_updates_move_claims(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("moves");
    signup(&r, &t, "boss@moves.ru").await;
    let u = user(&t, "m1", "m1@moves.ru", Some("201"));
    r.users.create(&u).await.unwrap();
    let v = r.users.get(&t, &u.id).await.unwrap();

    // Change e-mail and extension: the old ones are free afterwards.
    let mut changed = v.value.clone();
    changed.email = "new@moves.ru".into();
    changed.short_number = Some("202".into());
    let version = r.users.update(&v.value, &changed, v.version).await.unwrap();
    assert!(r.users.find_login("m1@moves.ru").await.unwrap().is_none());
    assert!(r.users.find_login("new@moves.ru").await.unwrap().is_some());
    r.users
        .create(&user(&t, "m2", "m1@moves.ru", Some("201")))
        .await
        .unwrap();

    // A stale version is refused and changes nothing.
    let mut stale = changed.clone();
    stale.full_name = "Stale".into();
    assert!(matches!(
        r.users.update(&v.value, &stale, v.version).await,
        Err(RepoError::Stale(_))
    ));
    assert_eq!(
        r.users.get(&t, &u.id).await.unwrap().value.full_name,
        "User m1"
    );
    // Taking a claimed extension is refused and changes nothing.
    let mut grab = changed.clone();
    grab.short_number = Some("201".into());
    assert!(matches!(
        r.users.update(&changed, &grab, version).await,
        Err(RepoError::ShortNumberTaken(_))
    ));
    assert_eq!(
        r.users
            .get(&t, &u.id)
            .await
            .unwrap()
            .value
            .short_number
            .as_deref(),
        Some("202")
    );

    // Deleting keeps the record but frees both claims.
    let mut deleted = changed.clone();
    deleted.status = UserStatus::Deleted;
    r.users.update(&changed, &deleted, version).await.unwrap();
    assert_eq!(
        r.users.get(&t, &u.id).await.unwrap().value.status,
        UserStatus::Deleted
    );
    assert!(r.users.find_login("new@moves.ru").await.unwrap().is_none());
    r.users
        .create(&user(&t, "m3", "new@moves.ru", Some("202")))
        .await
        .unwrap();
}

pub async fn repo_tokens_are_single_use(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("tok");
    let u = UserId::parse("u1").unwrap();
    let tok = RefreshToken {
        user: u.clone(),
        created_at: 1,
        expires_at: 2,
    };
    r.tokens.put_refresh(&t, "h1", &tok).await.unwrap();
    r.tokens.put_refresh(&t, "h2", &tok).await.unwrap();
    let v = r.tokens.get_refresh(&t, "h1").await.unwrap().unwrap();
    // Two rotations of the same token race: exactly one wins.
    let (x, y) = tokio::join!(
        r.tokens.rotate_refresh(&t, "h1", v.version, "h1-a", &tok),
        r.tokens.rotate_refresh(&t, "h1", v.version, "h1-b", &tok),
    );
    assert_eq!(x.is_ok() as u8 + y.is_ok() as u8, 1, "{x:?} {y:?}");
    assert!(r.tokens.get_refresh(&t, "h1").await.unwrap().is_none());
    assert_eq!(r.tokens.revoke_all(&t, &u).await.unwrap(), 2);
    assert!(r.tokens.get_refresh(&t, "h2").await.unwrap().is_none());
    // Another tenant never sees these tokens.
    r.tokens.put_refresh(&t, "h3", &tok).await.unwrap();
    assert!(
        r.tokens
            .get_refresh(&tenant("tok2"), "h3")
            .await
            .unwrap()
            .is_none()
    );

    let once = OneTimeToken {
        user: u,
        purpose: "confirm_email".into(),
        expires_at: 9,
    };
    r.tokens.put_once(&t, "c1", &once).await.unwrap();
    let (x, y) = tokio::join!(r.tokens.take_once(&t, "c1"), r.tokens.take_once(&t, "c1"));
    let taken = [x.unwrap(), y.unwrap()].into_iter().flatten().count();
    assert_eq!(taken, 1);
    assert!(r.tokens.take_once(&t, "c1").await.unwrap().is_none());
}

pub async fn repo_groups_and_members(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("grp");
    let g = Group {
        id: GroupId::parse("sales").unwrap(),
        name: "Sales".into(),
        description: "".into(),
        created_at: 1,
    };
    r.groups.create(&t, &g).await.unwrap();
    assert!(
        r.groups.create(&t, &g).await.is_err(),
        "group ids are unique"
    );
    let mut m = user(&t, "m1", "m1@grp.ru", None);
    m.group = Some(g.id.clone());
    r.users.create(&m).await.unwrap();
    r.users
        .create(&user(&t, "m2", "m2@grp.ru", None))
        .await
        .unwrap();
    let members = r.users.list_group(&t, &g.id, None, 10).await.unwrap();
    assert_eq!(
        members
            .items
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        ["m1"]
    );
    assert!(matches!(
        r.groups.delete(&t, &g.id).await,
        Err(RepoError::GroupNotEmpty(1))
    ));
    let v = r.users.get(&t, &m.id).await.unwrap();
    let mut moved = v.value.clone();
    moved.group = None;
    r.users.update(&v.value, &moved, v.version).await.unwrap();
    assert!(
        r.users
            .list_group(&t, &g.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let gv = r.groups.get(&t, &g.id).await.unwrap();
    let renamed = Group {
        name: "Sales 2".into(),
        ..gv.value.clone()
    };
    r.groups.update(&t, &renamed, gv.version).await.unwrap();
    assert!(matches!(
        r.groups.update(&t, &renamed, gv.version).await,
        Err(RepoError::Stale(_))
    ));
    assert_eq!(r.groups.list(&t).await.unwrap()[0].name, "Sales 2");
    r.groups.delete(&t, &g.id).await.unwrap();
    assert!(r.groups.list(&t).await.unwrap().is_empty());
}
