// An item's body as the briefcase shows it: an article's sanitised HTML
// (sanitised again here by the same Rust function as the public page, its
// images served by the app), a case study's card, or plain paragraphs.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, mediaUrl } from "../api";
import type { ContentItem } from "../bindings";

/** The sanitiser keeps only `/media/{key}` images: the app serves them. */
function appImages(html: string): string {
  return html.replace(/src="\/media\/([0-9a-f]{32})"/g, (_, key: string) => `src="${mediaUrl(key)}"`);
}

export function ItemBody({ item }: { item: ContentItem }) {
  const { t } = useTranslation();
  const [html, setHtml] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    if (item.kind === "article") {
      api.sanitizeArticle(item.body).then((h) => live && setHtml(appImages(h)), () => {});
    }
    return () => {
      live = false;
    };
  }, [item.body, item.kind]);

  if (item.kind === "article") {
    return <div className="body article-html" dangerouslySetInnerHTML={{ __html: html ?? "" }} />;
  }
  const cs = item.case_study;
  if (item.kind === "case_study" && cs) {
    return (
      <div className="body">
        <dl className="dl">
          {(["customer", "problem", "solution", "result"] as const).map((f) =>
            cs[f].trim() ? (
              <div key={f} style={{ display: "contents" }}>
                <dt>{t(`library.case.${f}`)}</dt>
                <dd>{cs[f]}</dd>
              </div>
            ) : null,
          )}
        </dl>
        {cs.quote.trim() && <blockquote>“{cs.quote}”</blockquote>}
      </div>
    );
  }
  return (
    <div className="body">
      {item.body
        .split(/\n\s*\n/)
        .filter((p) => p.trim())
        .map((p, i) => (
          <p key={i}>{p}</p>
        ))}
    </div>
  );
}
