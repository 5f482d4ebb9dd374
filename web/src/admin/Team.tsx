import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t, type Key } from "../i18n";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";
import { AdminsOnly, allUsers, me, ROLES, roleName, SelectField, userState, type Group, type TeamUser } from "./common";

interface AgentStateView {
  user_id: string;
  state: string;
  reason: string | null;
}

/** How often the agents' states are read again while the page is open. */
const STATES_EVERY_MS = 10000;

const roleOptions = (): [string, string][] => ROLES.map((r) => [r, roleName(r)]);
const groupOptions = (groups: Group[]): [string, string][] => [["", t("adm.team.no_group")], ...groups.map((g): [string, string] => [g.id, g.name])];

/** The team (PRODUCT A2, A6): users with their role, group, state and what
 * they are doing now; administrators invite, edit and block users and keep
 * the groups. Others see the list as the API shows it to them. */
export function Team() {
  const [self, setSelf] = useState<TeamUser | null>(null);
  const [users, setUsers] = useState<TeamUser[]>([]);
  const [groups, setGroups] = useState<Group[]>([]);
  const [states, setStates] = useState<Map<string, AgentStateView> | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [editing, setEditing] = useState<TeamUser | null>(null);
  const [loaded, setLoaded] = useState(false);

  async function reload() {
    try {
      const [who, list, gs] = await Promise.all([me(), allUsers(), api<Group[]>("GET", "/api/groups")]);
      setSelf(who);
      setUsers(list);
      setGroups(gs);
      // Managers see only their own state (the API refuses them the team's).
      if (who.role !== "manager") {
        const st = await api<AgentStateView[]>("GET", "/api/agents/states");
        setStates(new Map(st.map((s) => [s.user_id, s])));
      }
      setLoaded(true);
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void reload(), []);

  // What agents are doing changes by the minute: read it again while the page is open.
  const supervises = self !== null && self.role !== "manager";
  useEffect(() => {
    if (!supervises) return;
    const timer = setInterval(() => {
      api<AgentStateView[]>("GET", "/api/agents/states").then(
        (st) => setStates(new Map(st.map((s) => [s.user_id, s]))),
        () => undefined,
      );
    }, STATES_EVERY_MS);
    return () => clearInterval(timer);
  }, [supervises]);

  const admin = self?.role === "administrator";

  async function setBlocked(u: TeamUser, block: boolean) {
    try {
      const changed = await api<TeamUser>("POST", `/api/users/${u.id}/${block ? "block" : "unblock"}`);
      setUsers((list) => list.map((x) => (x.id === changed.id ? changed : x)));
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }

  const groupName = (id: string | null) => groups.find((g) => g.id === id)?.name ?? "";
  return (
    <div class="adm">
      <h1>{t("adm.team.title")}</h1>
      {self && !admin && <AdminsOnly>{t("adm.team.admins_only")}</AdminsOnly>}
      {admin && <Invite groups={groups} onInvited={(u) => setUsers((list) => [...list, u])} />}
      {editing && (
        <EditUser
          key={editing.id}
          user={editing}
          groups={groups}
          onDone={(u) => {
            if (u) setUsers((list) => list.map((x) => (x.id === u.id ? u : x)));
            setEditing(null);
          }}
        />
      )}
      <section class="card">
        <h2>{t("adm.team.users")}</h2>
        <FormError error={error} fields={[]} />
        {!loaded && !error && <p class="muted">{t("loading")}</p>}
        {loaded && (
          <table class="adm-table team">
            <thead>
              <tr>
                <th>{t("adm.team.name")}</th>
                <th>{t("adm.team.email")}</th>
                <th>{t("adm.team.role")}</th>
                <th>{t("adm.team.group")}</th>
                <th>{t("adm.team.short_number")}</th>
                <th>{t("adm.team.status")}</th>
                {states && <th>{t("adm.team.now")}</th>}
                {admin && <th />}
              </tr>
            </thead>
            <tbody>
              {users.map((u) => {
                const st = userState(u);
                const now = states?.get(u.id);
                return (
                  <tr key={u.id} data-email={u.email}>
                    <td>{u.full_name}</td>
                    <td>{u.email}</td>
                    <td>{roleName(u.role)}</td>
                    <td>{groupName(u.group_id)}</td>
                    <td>{u.short_number ?? ""}</td>
                    <td>
                      <span class={`adm-badge ${st}`} data-status={st} title={st === "invited" ? t("adm.team.invited_hint") : undefined}>
                        {t(`adm.status.${st}` as Key)}
                      </span>
                    </td>
                    {states && (
                      <td data-agent-state={now?.state ?? ""}>
                        {now ? t(`state.${now.state}` as Key) : ""}
                        {now?.reason && <span class="muted"> · {now.reason}</span>}
                      </td>
                    )}
                    {admin && (
                      <td class="adm-row-actions">
                        <button type="button" class="link" onClick={() => setEditing(u)}>
                          {t("adm.edit")}
                        </button>
                        {u.id !== self?.id &&
                          (u.status === "blocked" ? (
                            <button type="button" class="link" onClick={() => setBlocked(u, false)}>
                              {t("adm.team.unblock")}
                            </button>
                          ) : (
                            <button type="button" class="link danger-link" onClick={() => setBlocked(u, true)}>
                              {t("adm.team.block")}
                            </button>
                          ))}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      {loaded && <Groups groups={groups} users={users} admin={admin} onChange={setGroups} />}
      <Roles />
    </div>
  );
}

function Invite({ groups, onInvited }: { groups: Group[]; onInvited: (u: TeamUser) => void }) {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState("manager");
  const [group, setGroup] = useState("");
  const [short, setShort] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [sent, setSent] = useState<string | null>(null);

  async function invite(e: Event) {
    e.preventDefault();
    try {
      const u = await api<TeamUser>("POST", "/api/users", {
        email,
        full_name: name,
        role,
        group_id: group || undefined,
        short_number: short.trim() || undefined,
      });
      onInvited(u);
      setSent(u.email);
      setError(null);
      setEmail("");
      setName("");
      setShort("");
    } catch (err) {
      setError(asApiError(err));
      setSent(null);
    }
  }

  return (
    <form class="card adm-form" noValidate onSubmit={invite} aria-label={t("adm.team.invite_title")}>
      <h2>{t("adm.team.invite_title")}</h2>
      <FormError error={error} fields={["email", "full_name", "role", "group_id", "short_number"]} />
      <div class="adm-grid">
        <Field name="email" label={t("adm.team.email")} type="email" value={email} onInput={setEmail} error={error} autocomplete="off" />
        <Field name="full_name" label={t("adm.team.name")} value={name} onInput={setName} error={error} autocomplete="off" />
        <SelectField name="role" label={t("adm.team.role")} value={role} options={roleOptions()} onChange={setRole} error={error} />
        <SelectField name="group_id" label={t("adm.team.group")} value={group} options={groupOptions(groups)} onChange={setGroup} error={error} />
        <Field name="short_number" label={t("adm.team.short_number")} value={short} onInput={setShort} error={error} autocomplete="off" />
      </div>
      <div class="actions">
        <button type="submit">{t("adm.team.invite")}</button>
      </div>
      {sent && (
        <p class="muted" role="status">
          {t("adm.team.invited", { email: sent })}
        </p>
      )}
    </form>
  );
}

function EditUser({ user, groups, onDone }: { user: TeamUser; groups: Group[]; onDone: (u: TeamUser | null) => void }) {
  const [name, setName] = useState(user.full_name);
  const [role, setRole] = useState<string>(user.role);
  const [group, setGroup] = useState(user.group_id ?? "");
  const [short, setShort] = useState(user.short_number ?? "");
  const [error, setError] = useState<ApiError | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    // Only what changed: an administrator may edit themselves but not their role.
    const patch: Record<string, unknown> = {};
    if (name !== user.full_name) patch.full_name = name;
    if (role !== user.role) patch.role = role;
    if (group !== (user.group_id ?? "")) patch.group_id = group || null;
    if (short.trim() !== (user.short_number ?? "")) patch.short_number = short.trim() || null;
    try {
      onDone(await api<TeamUser>("PATCH", `/api/users/${user.id}`, patch));
    } catch (err) {
      setError(asApiError(err));
    }
  }

  return (
    <form class="card adm-form" noValidate onSubmit={save} aria-label={t("adm.team.edit_title", { name: user.full_name })}>
      <h2>{t("adm.team.edit_title", { name: user.full_name })}</h2>
      <FormError error={error} fields={["full_name", "role", "group_id", "short_number"]} />
      <div class="adm-grid">
        <Field name="full_name" label={t("adm.team.name")} value={name} onInput={setName} error={error} />
        <SelectField name="role" label={t("adm.team.role")} value={role} options={roleOptions()} onChange={setRole} error={error} />
        <SelectField name="group_id" label={t("adm.team.group")} value={group} options={groupOptions(groups)} onChange={setGroup} error={error} />
        <Field name="short_number" label={t("adm.team.short_number")} value={short} onInput={setShort} error={error} />
      </div>
      <div class="actions">
        <button type="submit">{t("adm.save")}</button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>
          {t("adm.cancel")}
        </button>
      </div>
    </form>
  );
}

function Groups({ groups, users, admin, onChange }: { groups: Group[]; users: TeamUser[]; admin: boolean; onChange: (g: Group[]) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: ApiError | null } | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    try {
      const g = await api<Group>("POST", "/api/groups", { name, description: description || undefined });
      onChange([...groups, g]);
      setName("");
      setDescription("");
      setError(null);
    } catch (err) {
      setError(asApiError(err));
    }
  }

  async function rename(e: Event) {
    e.preventDefault();
    if (!renaming) return;
    try {
      const g = await api<Group>("PATCH", `/api/groups/${renaming.id}`, { name: renaming.name });
      onChange(groups.map((x) => (x.id === g.id ? g : x)));
      setRenaming(null);
      setRowError(null);
    } catch (err) {
      setRowError({ id: renaming.id, error: asApiError(err) });
    }
  }

  async function remove(g: Group) {
    try {
      await api("DELETE", `/api/groups/${g.id}`);
      onChange(groups.filter((x) => x.id !== g.id));
      setRowError(null);
    } catch (err) {
      setRowError({ id: g.id, error: asApiError(err) });
    }
  }

  const members = (id: string) => users.filter((u) => u.group_id === id && u.status !== "deleted").length;
  return (
    <section class="card">
      <h2>{t("adm.groups.title")}</h2>
      {groups.length === 0 && <p class="muted">{t("adm.groups.none")}</p>}
      {groups.length > 0 && (
        <table class="adm-table groups">
          <thead>
            <tr>
              <th>{t("adm.groups.name")}</th>
              <th>{t("adm.groups.description")}</th>
              <th>{t("adm.groups.members")}</th>
              {admin && <th />}
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.id} data-group={g.name}>
                <td>
                  {renaming?.id === g.id ? (
                    <form class="adm-inline" onSubmit={rename}>
                      <input
                        name="group_name"
                        aria-label={t("adm.groups.name")}
                        value={renaming.name}
                        onInput={(e) => setRenaming({ id: g.id, name: (e.target as HTMLInputElement).value })}
                      />
                      <button type="submit">{t("adm.save")}</button>
                      <button type="button" class="link" onClick={() => (setRenaming(null), setRowError(null))}>
                        {t("adm.cancel")}
                      </button>
                    </form>
                  ) : (
                    g.name
                  )}
                  {rowError?.id === g.id && rowError.error && (
                    <small class="field-error" role="alert" data-field={rowError.error.field ?? ""}>
                      {rowError.error.message}
                    </small>
                  )}
                </td>
                <td>{g.description}</td>
                <td>{members(g.id)}</td>
                {admin && (
                  <td class="adm-row-actions">
                    <button type="button" class="link" onClick={() => (setRenaming({ id: g.id, name: g.name }), setRowError(null))}>
                      {t("adm.groups.rename")}
                    </button>
                    <button type="button" class="link danger-link" onClick={() => remove(g)}>
                      {t("adm.delete")}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <form class="adm-form" onSubmit={create} aria-label={t("adm.groups.create")}>
          <h3>{t("adm.groups.create")}</h3>
          <FormError error={error} fields={["name", "description"]} />
          <div class="adm-grid">
            <Field name="name" label={t("adm.groups.name")} value={name} onInput={setName} error={error} />
            <Field name="description" label={t("adm.groups.description")} value={description} onInput={setDescription} error={error} />
          </div>
          <div class="actions">
            <button type="submit">{t("adm.groups.create_button")}</button>
          </div>
        </form>
      )}
    </section>
  );
}

/** The four roles as the API models them: what each may see and change. */
function Roles() {
  return (
    <section class="card">
      <h2>{t("adm.roles.title")}</h2>
      <dl class="adm-roles">
        {ROLES.map((r) => (
          <div key={r}>
            <dt>{roleName(r)}</dt>
            <dd>{t(`adm.role.${r}.about` as Key)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
