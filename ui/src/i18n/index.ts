// The i18n layer: i18next with 中文 (default) and English. The chosen
// language is remembered in localStorage.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { en } from "./en";
import { zhCN } from "./zh-CN";

export const LANGUAGES = ["zh-CN", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

const STORAGE_KEY = "warmlead.lang";

export const resources = {
  "zh-CN": { translation: zhCN },
  en: { translation: en },
} as const;

function isLanguage(v: string | null): v is Language {
  return v !== null && (LANGUAGES as readonly string[]).includes(v);
}

function storedLanguage(): Language {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
    return isLanguage(v) ? v : "zh-CN";
  } catch {
    return "zh-CN";
  }
}

export function setLanguage(lang: Language): void {
  void i18n.changeLanguage(lang);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode or no storage: the choice lasts for this session only.
  }
  document.documentElement.lang = lang;
}

export function currentLanguage(): Language {
  return isLanguage(i18n.language) ? i18n.language : "zh-CN";
}

void i18n.use(initReactI18next).init({
  resources,
  lng: storedLanguage(),
  fallbackLng: "zh-CN",
  interpolation: { escapeValue: false }, // React escapes.
  returnNull: false,
});

export default i18n;
