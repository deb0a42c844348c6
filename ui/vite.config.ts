import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The Tauri window loads http://localhost:5173 in development and the built
// ui/dist in production (see src-tauri/tauri.conf.json).
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2021", outDir: "dist", emptyOutDir: true },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
