/// <reference types="vitest/config" />
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at "/" (see
// src/sleeplog/web/frontend.py). File names carry a content hash and the
// output holds no timestamps, so rebuilding the same sources gives the same
// bytes and CI can compare a fresh build with the committed one.
export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: {
    outDir: "../src/sleeplog/static",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` talks to a sleeplog-serve on the default port.
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
  },
});
