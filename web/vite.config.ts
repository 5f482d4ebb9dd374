import { defineConfig } from "vite";

// `npm run dev` serves the app with hot reload and sends /api to a running
// `callisto serve`; `npm run build` writes web/dist, which callisto serves.
export default defineConfig({
  server: {
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
  build: {
    target: "es2022",
    assetsInlineLimit: 0,
  },
});
