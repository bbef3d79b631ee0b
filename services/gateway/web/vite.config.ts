import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` proxies the API to a running gateway (VITALS_URL, default `make run`'s).
const gateway = process.env.VITALS_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      // The dashboard, and the chart benchmark page `make bench-dashboard` opens.
      input: { main: "index.html", bench: "bench.html" },
    },
  },
  server: {
    proxy: {
      "/auth": gateway,
      "/admin": { target: gateway, ws: true },
      "/healthz": gateway,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
