//! Roles and the scope rule (PRODUCT A2, "Who uses it"). This is the one place
//! that decides what a user may see and do; every endpoint asks a [`Principal`].

use crate::ids::{GroupId, TenantId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Full rights: settings, users, numbers, balance, all data.
    Administrator,
    /// Sees and reports on everything, changes no settings.
    Head,
    /// Sees the calls and contacts of their group only.
    GroupLeader,
    /// Works only with own contacts and calls.
    Manager,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::Head,
        Role::GroupLeader,
        Role::Manager,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Head => "head",
            Role::GroupLeader => "group_leader",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Which records a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Records owned by members of this group (a group leader without a group sees only own).
    Group(GroupId),
    Own(UserId),
}

/// What a record says about who it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Ownership<'a> {
    pub owner: &'a UserId,
    pub owner_group: Option<&'a GroupId>,
}

/// Actions guarded by role rather than by record ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Invite, edit, block, delete users; manage groups.
    ManageUsers,
    /// Company profile and billing details, trunks, numbers.
    ManageSettings,
    /// See the user list (team page).
    ViewTeam,
}

/// The verified caller of a request: who, in which tenant, with what role.
/// Built only from a verified token (or SIP account), never from request input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: UserId,
    pub role: Role,
    pub group: Option<GroupId>,
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match (self.role, &self.group) {
            (Role::Administrator | Role::Head, _) => Scope::All,
            (Role::GroupLeader, Some(g)) => Scope::Group(g.clone()),
            (Role::GroupLeader, None) | (Role::Manager, _) => Scope::Own(self.user.clone()),
        }
    }

    /// May this principal see a record with this ownership?
    pub fn sees(&self, record: Ownership<'_>) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Group(g) => record.owner == &self.user || record.owner_group == Some(&g),
            Scope::Own(u) => record.owner == &u,
        }
    }

    /// May this principal see something assigned to these users, such as a
    /// scenario given to its managers? The whole company sees everything, even
    /// what is assigned to nobody; others see it when they see one assignee.
    pub fn sees_any<'a>(&self, assignees: impl IntoIterator<Item = Ownership<'a>>) -> bool {
        self.scope() == Scope::All || assignees.into_iter().any(|o| self.sees(o))
    }

    pub fn can(&self, permission: Permission) -> bool {
        match permission {
            Permission::ManageUsers | Permission::ManageSettings => {
                self.role == Role::Administrator
            }
            Permission::ViewTeam => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, user: &str, group: Option<&str>) -> Principal {
        Principal {
            tenant: TenantId::parse("t1").unwrap(),
            user: UserId::parse(user).unwrap(),
            role,
            group: group.map(|g| GroupId::parse(g).unwrap()),
        }
    }

    #[test]
    fn scope_follows_role() {
        let me = UserId::parse("me").unwrap();
        let other = UserId::parse("other").unwrap();
        let sales = GroupId::parse("sales").unwrap();
        let support = GroupId::parse("support").unwrap();
        let in_sales = Ownership {
            owner: &other,
            owner_group: Some(&sales),
        };
        let in_support = Ownership {
            owner: &other,
            owner_group: Some(&support),
        };
        let mine = Ownership {
            owner: &me,
            owner_group: None,
        };

        for role in [Role::Administrator, Role::Head] {
            let a = p(role, "me", None);
            assert!(a.sees(in_sales) && a.sees(in_support) && a.sees(mine));
        }
        let leader = p(Role::GroupLeader, "me", Some("sales"));
        assert!(leader.sees(in_sales) && leader.sees(mine) && !leader.sees(in_support));
        let lone_leader = p(Role::GroupLeader, "me", None);
        assert!(lone_leader.sees(mine) && !lone_leader.sees(in_sales));
        let manager = p(Role::Manager, "me", Some("sales"));
        assert!(manager.sees(mine) && !manager.sees(in_sales));

        // Assigned to several users: seen when one of them is in scope.
        assert!(manager.sees_any([in_sales, mine]) && !manager.sees_any([in_sales]));
        assert!(leader.sees_any([in_support, in_sales]) && !leader.sees_any([in_support]));
        assert!(p(Role::Head, "me", None).sees_any([]));
        assert!(!manager.sees_any([]));
    }

    #[test]
    fn only_administrators_manage() {
        assert!(p(Role::Administrator, "a", None).can(Permission::ManageUsers));
        for role in [Role::Head, Role::GroupLeader, Role::Manager] {
            assert!(!p(role, "a", None).can(Permission::ManageUsers));
            assert!(!p(role, "a", None).can(Permission::ManageSettings));
            assert!(p(role, "a", None).can(Permission::ViewTeam));
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
