// The app's address is its state: pages are paths, and the back button works.

import { signal } from "./signal";

export const path = signal(location.pathname);

export function navigate(to: string) {
  if (to !== location.pathname + location.search) history.pushState(null, "", to);
  path.set(location.pathname);
}

addEventListener("popstate", () => path.set(location.pathname));
