import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import "./styles.css";
import i18n from "./i18n";
import { App } from "./App";
import { ToastProvider } from "./components/Toast";

document.documentElement.lang = i18n.language;

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ToastProvider>
        <App />
      </ToastProvider>
    </StrictMode>,
  );
}
