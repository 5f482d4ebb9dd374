import { useEffect } from "preact/hooks";
import { api, onSessionChange, signedIn, type User } from "../api";
import { navigate, path } from "../router";
import { signal, useSignal } from "../signal";

export interface Me extends User {
  must_change_password: boolean;
  time_zone: string | null;
  support_email: string | null;
  support_phone: string | null;
}

/** The signed-in user, once asked; cleared when the session ends or changes. */
export const me = signal<Me | null>(null);
onSessionChange(() => me.set(null));

/** The header's user area: the user's name, a link to the profile. A user who
 * must still choose their own password (an invited one) is taken there first. */
export function UserMenu() {
  const user = useSignal(me);
  const here = useSignal(path);
  useEffect(() => {
    if (!user && signedIn()) {
      api<Me>("GET", "/api/me")
        .then((u) => me.set(u))
        .catch(() => undefined);
    }
  }, [user]);
  useEffect(() => {
    if (user?.must_change_password && here !== "/profile") navigate("/profile");
  }, [user, here]);
  if (!user) return null;
  return (
    <a
      class="user-menu"
      href="/profile"
      aria-current={here === "/profile" ? "page" : undefined}
      onClick={(e) => (e.preventDefault(), navigate("/profile"))}
    >
      {user.full_name || user.email}
    </a>
  );
}
